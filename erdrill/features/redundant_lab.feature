Feature: A redundant circuit, an active-active VPN gateway, two peering locations
  Every ExpressRoute circuit has a primary and a secondary link, each to its own Microsoft
  edge; losing one (for maintenance or a fault) must not move anything to the VPN. Only
  losing the whole circuit does, and an active-active VPN gateway then keeps traffic up
  when one of its instances goes too. The redundant lab (erdrill/lab/topologies/redundant.yaml)
  has both links on two CE routers, two VPN tunnels, a hub with two workload subnets and
  two spokes using the hub's gateways; every workload and spoke is probed.

  Background: both links and both tunnels are up, traffic on ExpressRoute
    Given the lab built from the topology "redundant"
    And the drill target is ready
    Then both ExpressRoute links and both VPN tunnels carry their BGP sessions
    And every flow uses expressroute/primary in both directions within 10 seconds
    And traffic flows over ExpressRoute in both directions

  @lab @disruptive @redundant
  Scenario Outline: <fault> on the redundant lab: every flow ends on <flows during>
    Given probes run from on-premises to every workload
    When the lab fault "<fault>" is injected
    Then traffic uses <path during> in both directions within 10 seconds
    And every flow uses <flows during> in both directions within 10 seconds
    And the failover outage is at most <failover limit> milliseconds
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 30 seconds
    And every flow uses expressroute/primary in both directions within 10 seconds
    And the failback outage is at most <failback limit> milliseconds

    Examples:
      | fault                          | path during  | flows during           | failover limit | failback limit |
      | primary-link-down              | ExpressRoute | expressroute/secondary | 500            | 500            |
      | primary-link-silent            | ExpressRoute | expressroute/secondary | 1000           | 500            |
      | secondary-link-down            | ExpressRoute | expressroute/primary   | 500            | 500            |
      | circuit-down                   | the VPN      | vpn/instance-1         | 2000           | 1000           |
      | circuit-down+vpn-instance-down | the VPN      | vpn/instance-2         | 6000           | 1000           |
      | vpn-instance-down              | ExpressRoute | expressroute/primary   | 500            | 500            |

  @lab @disruptive @redundant
  Scenario: Microsoft's maintenance prepend moves traffic to the other link without losing a probe
    Given probes run from on-premises to every workload
    When the lab fault "msee-maintenance" is injected
    Then every flow uses expressroute/secondary in both directions within 10 seconds
    And no probe is lost in the failover
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 30 seconds
    And no probe is lost in the failback
