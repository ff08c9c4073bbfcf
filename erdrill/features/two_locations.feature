Feature: Two circuits in two peering locations
  Microsoft's site-resiliency design: a circuit in each of two peering locations, plus a
  VPN. Losing one peering location must keep traffic on ExpressRoute over the other
  circuit (erdrill/lab/topologies/two-locations.yaml).

  @lab @disruptive @two_locations
  Scenario: peering-location-down keeps traffic on ExpressRoute over the other location
    Given the lab built from the topology "two-locations"
    And the drill target is ready
    Then traffic flows over ExpressRoute in both directions
    Given probes run from on-premises to every workload
    When the lab fault "peering-location-down" is injected
    Then every flow uses expressroute/london in both directions within 10 seconds
    And the failover outage is at most 1000 milliseconds
    When the fault is undone
    Then traffic returns to ExpressRoute in both directions within 30 seconds
    And every flow uses expressroute/amsterdam in both directions within 10 seconds
