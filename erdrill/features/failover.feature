Feature: ExpressRoute fails over to the site-to-site VPN and back
  Microsoft's test plan for ExpressRoute with a VPN backup: connect from on-premises to
  the VNet, have the provider stop ExpressRoute, verify the connection still works over
  the VPN gateway, have the provider restore ExpressRoute. Probes time every transition
  to the millisecond; route tables are kept as evidence before, during and after.

  Background: the network is in its steady state
    Given the drill target is ready
    Then BGP is established on the ExpressRoute and VPN paths
    And the deployment follows Microsoft's reference architecture
    And the IPsec tunnel is up
    And traffic flows over ExpressRoute in both directions
    And the same prefixes are known over ExpressRoute and the VPN on both sides

  @lab @azure @disruptive @failover @leaves_expressroute
  Scenario: The documented test plan: the provider stops ExpressRoute, then restores it
    Given probes run from on-premises to the workload
    When the provider stops ExpressRoute
    Then traffic reaches the workload over the VPN in both directions within 20 seconds
    And the connection works over the VPN for 2 seconds
    And the failover outage is at most 15 seconds
    When the provider restores ExpressRoute
    Then traffic returns to ExpressRoute in both directions within 60 seconds
    And the failback outage is at most 5 seconds
