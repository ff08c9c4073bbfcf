"""The findings catalogue: every finding erdrill knows, with its stable id (``ERD-ASYM-001``),
severity, title, recommended action and, for the architecture checks, the document the
check comes from. `erdrill.reports.findings` derives a drill's findings from it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from erdrill.targets.azure.architecture import RULES as ARCHITECTURE_RULES

__all__ = ["CATALOGUE", "RANK", "FindingSpec", "Severity"]


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2}


@dataclass(frozen=True)
class FindingSpec:
    """One kind of finding: stable id, slug, severity, title and the recommended action."""

    id: str
    slug: str
    severity: Severity
    title: str
    action: str
    source: str = ""  # the document the check comes from (the architecture checks)


def _spec(id_: str, slug: str, severity: Severity, title: str, action: str) -> FindingSpec:
    return FindingSpec(id_, slug, severity, title, action)


_C, _M, _m = Severity.CRITICAL, Severity.MAJOR, Severity.MINOR
CATALOGUE: dict[str, FindingSpec] = {
    s.id: s
    for s in (
        _spec(
            "ERD-BGP-001",
            "session-down",
            _C,
            "A BGP session is not established",
            "Check the session on both ends (peer addresses, ASNs, MD5 key, the peering's "
            "state in Azure) and bring it up before drilling: a drill without it tests "
            "nothing.",
        ),
        _spec(
            "ERD-VPN-001",
            "tunnel-down",
            _C,
            "The IPsec tunnel is down: there is no backup path",
            "Check the VPN device and the Azure VPN connection (IKE/IPsec proposals, "
            "pre-shared key, public IPs, connection status) and bring the tunnel up.",
        ),
        _spec(
            "ERD-ASYM-001",
            "asymmetric-routing",
            _M,
            "Asymmetric routing in the steady state",
            "Make both directions prefer ExpressRoute: on-premises, give routes learned "
            "from the MSEE a higher local preference than those over the VPN (or prepend "
            "the AS path of what you advertise over the VPN). Stateful firewalls drop "
            "asymmetric flows.",
        ),
        _spec(
            "ERD-PATH-001",
            "not-on-expressroute",
            _C,
            "Traffic does not use ExpressRoute in the steady state",
            "Find out why ExpressRoute is not preferred: check the circuit, the private "
            "peering and the gateway connection (its routing weight), and the routes the "
            "MSEE advertises on-premises.",
        ),
        _spec(
            "ERD-PREFIX-001",
            "vpn-more-specific",
            _M,
            "The VPN carries more-specific prefixes and wins permanently",
            "Advertise the same prefixes over ExpressRoute and the VPN, or stop "
            "advertising the more-specific ones over the VPN: the longest prefix wins "
            "over any path preference.",
        ),
        _spec(
            "ERD-PREFIX-002",
            "no-vpn-backup",
            _M,
            "Prefixes known only over ExpressRoute have no VPN backup",
            "Advertise these prefixes over the VPN as well (BGP over the tunnel, or the "
            "local network gateway's address space) so they survive an ExpressRoute "
            "outage.",
        ),
        _spec(
            "ERD-FAILOVER-001",
            "no-failover",
            _C,
            "Traffic did not fail over to the VPN (or did not come back)",
            "Check that the VPN carries the same prefixes, that routes over ExpressRoute "
            "are withdrawn when it fails (BFD, BGP hold timer) and that the VPN routes "
            "are installed on both sides; then drill again.",
        ),
        _spec(
            "ERD-ABORT-001",
            "abort-guard",
            _m,
            "The abort guard restored ExpressRoute early",
            "The network did not fail over within the abort limit: fix the failover "
            "(ERD-FAILOVER-001) first; raise the abort limit only if a longer outage is "
            "acceptable to the business.",
        ),
        _spec(
            "ERD-LIMIT-001",
            "outage-over-limit",
            _M,
            "A failover or failback figure is over its limit",
            "Shorten detection and convergence: enable BFD on the ExpressRoute peering "
            "and the CE, tune the BGP timers, and make sure the VPN routes are installed "
            "before the failure (no tunnel set-up during failover). Or agree a higher "
            "limit with the service owner.",
        ),
        _spec(
            "ERD-BFD-001",
            "hold-timer-detection",
            _M,
            "Failover took about the BGP hold time: BFD did not detect the failure",
            "Enable BFD on the CE's BGP sessions to the MSEE (Microsoft enables it on the "
            "MSEE side) and check that BFD sessions are up; until then failover waits for "
            "the hold timer (180 s by default on ExpressRoute).",
        ),
        _spec(
            "ERD-SESSION-001",
            "session-broken",
            _M,
            "An established session broke across the failover",
            "Users lose their connections when the path changes: make routing symmetric on "
            "both paths (the same preference on-premises and in Azure), and keep firewall "
            "state across the paths (one firewall or a synchronised cluster in front of both "
            "the CE and the VPN device, or the ExpressRoute and VPN interfaces in one zone); "
            "else accept that sessions reconnect after every failover and failback.",
        ),
        _spec(
            "ERD-SESSION-002",
            "session-not-opened",
            _M,
            "A long-lived session could not be opened or broke in the steady state",
            "Connections fail before any fault: look for asymmetric routing through a "
            "stateful firewall (ERD-ASYM-001), a firewall rule or a workload that does not "
            "answer on the session port; for Azure, check the echo service on session_port.",
        ),
        _spec(
            "ERD-RESTORE-001",
            "not-restored",
            _C,
            "ExpressRoute did not carry traffic after the drill",
            "Act now: restore the circuit or peering, check the BGP sessions to the MSEE "
            "and confirm traffic is back on ExpressRoute; the VPN carries it meanwhile, "
            "with far less bandwidth.",
        ),
        _spec(
            "ERD-WATCHDOG-001",
            "watchdog",
            _C,
            "The undo of the fault hung; the watchdog undid it from a fresh process",
            "Check that the target carries no fault (`erdrill lab status`, the circuit's "
            "peering state in Azure) and why the undo hung (API timeouts, daemon logs).",
        ),
        _spec(
            "ERD-LOCK-001",
            "stale-lock",
            _m,
            "A previous drill was killed and left its lock",
            "Read the killed drill's record and the fault journal; make sure the scheduler "
            "does not kill drills before they finish.",
        ),
        _spec(
            "ERD-OTHER-001",
            "other",
            _m,
            "Another finding of the drill",
            "Read the finding's text in the drill record and act on it.",
        ),
    )
}
CATALOGUE.update(
    (r.id, FindingSpec(r.id, r.slug, Severity(r.severity), r.title, r.action, r.source))
    for r in ARCHITECTURE_RULES
)
