Feature: Steady state: both directions prefer ExpressRoute
  For equal prefixes Azure prefers ExpressRoute over the VPN; on-premises must prefer it
  too, or traffic leaves on one path and returns on the other (asymmetric routing breaks
  stateful firewalls). More-specific prefixes over the VPN make the VPN win for good.
  These checks change nothing in the network.

  @lab @azure @steady_state
  Scenario: Both directions use ExpressRoute and both paths know the same prefixes
    Given the drill target is ready
    Then BGP is established on the ExpressRoute and VPN paths
    And the deployment follows Microsoft's reference architecture
    And traffic flows over ExpressRoute in both directions
    And the same prefixes are known over ExpressRoute and the VPN on both sides

  @lab @steady_state @misconfigured
  Scenario: On-premises preferring the VPN is caught as asymmetric routing
    Given a separate lab built from the topology "onprem-prefers-vpn"
    When the steady state is checked
    Then the check fails naming the forward direction as asymmetric

  @lab @steady_state @misconfigured
  Scenario: More-specific prefixes over the VPN are caught as a VPN that wins permanently
    Given a separate lab built from the topology "vpn-more-specific"
    When the steady state is checked
    Then the check fails naming the return direction as asymmetric
    And the check names the more-specific prefixes over the VPN
