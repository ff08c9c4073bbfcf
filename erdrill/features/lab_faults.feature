Feature: Every way ExpressRoute fails in the lab
  The lab can break ExpressRoute the ways real circuits break: carrier lost on both
  sides, carrier lost on the customer side only (the Microsoft edge keeps its link),
  a silent blackhole in the provider, private peering disabled; and the tunnel can go
  away, which must not move traffic. Each outage is timed and checked against the
  lab's own event log.

  Background: the network is in its steady state
    Given the drill target is ready
    Then BGP is established on the ExpressRoute and VPN paths
    And the IPsec tunnel is up
    And traffic flows over ExpressRoute in both directions

  @lab @disruptive
  Scenario Outline: <fault>: traffic moves to <path during> and comes back
    Given probes run from on-premises to the workload
    When the lab fault "<fault>" is injected
    Then traffic uses <path during> in both directions within <failover within> seconds
    And the failover outage is at most <failover limit> milliseconds
    And the measured failover agrees with the lab's event log
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 30 seconds
    And the failback outage is at most <failback limit> milliseconds

    Examples:
      | fault              | path during  | failover within | failover limit | failback limit |
      | provider-link-down | the VPN      | 10              | 2000           | 1000           |
      | ce-link-down       | the VPN      | 10              | 2000           | 1000           |
      | provider-blackhole | the VPN      | 10              | 2000           | 1000           |
      | peering-disabled   | the VPN      | 10              | 2000           | 1000           |
      | vpn-down           | ExpressRoute | 10              | 500            | 500            |
