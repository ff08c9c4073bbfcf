Feature: Every Azure fault method has its scenario
  Against Azure each fault method drills what it can: Microsoft's circuit link failover
  test moves traffic to the circuit's other link (ExpressRoute throughout), the site
  failover simulation to the circuits of another peering location. A scenario runs only
  when the drill config fits it (its fault method, the circuit's links and peering
  locations); the others are skipped with the reason. The documented plan (failover.feature)
  drills the methods that stop ExpressRoute.

  Background: the network is in its steady state
    Given the drill target is ready
    Then BGP is established on the ExpressRoute and VPN paths
    And the deployment follows Microsoft's reference architecture
    And traffic flows over ExpressRoute in both directions

  @azure @disruptive @circuit_link_failover
  Scenario Outline: Microsoft's circuit link failover test (<category>) keeps traffic on ExpressRoute
    Given both links of the circuit carry BGP
    And probes run from on-premises to the workload
    When Microsoft's circuit link failover test runs <category> on the <link> link
    Then traffic stays on ExpressRoute for 2 seconds
    And the failover outage is at most <failover limit> milliseconds
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 60 seconds

    Examples:
      | category      | link    | failover limit |
      | BgpDisconnect | Primary | 2000           |

  @azure @disruptive @circuit_link_failover
  Scenario: Microsoft's maintenance prepend on one link moves traffic without losing a probe
    Given both links of the circuit carry BGP
    And probes run from on-premises to the workload
    When Microsoft's circuit link failover test runs ASPathPrepend on the Primary link
    Then traffic stays on ExpressRoute for 2 seconds
    And no probe is lost in the failover
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 60 seconds
    And no probe is lost in the failback

  @azure @disruptive @site_failover_simulation
  Scenario: The site failover simulation keeps traffic on ExpressRoute through the other location
    Given probes run from on-premises to the workload
    When the site failover simulation takes the configured peering location down
    Then traffic stays on ExpressRoute for 2 seconds
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 60 seconds
