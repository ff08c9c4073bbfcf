"""Findings with actions: what a drill found, how bad it is and what an engineer should do.

`CATALOGUE` (`reports.catalogue`) holds every finding erdrill knows, each with a stable id (``ERD-ASYM-001``),
a severity (critical, major, minor), a title and the recommended action. `derive` reads a
`DrillRecord`: its ``findings`` texts (the steady-state checks of `drill.steady_state`, the
engine's ``did not fail over:``, ``abort guard:``, ``watchdog:`` lines), its failure
category (``limit-exceeded``, ``not-restored``) and its failover outage against the BGP
hold timer of its timer profile (an outage of about the hold time means BFD did not
detect the failure) and its long-lived sessions (``sessions``: one broken across the
failover or failback, or one that never opened or broke in the steady state). `assess` compares with the previous drill of the same target and
fault in the drill history: each finding is ``new`` or ``recurring``, and findings of
the previous drill that are gone are ``fixed``. `Assessment.history_fields` is what the
history line keeps (``finding_ids``, ``finding_changes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from erdrill.core.outcomes import LIMIT_EXCEEDED_PREFIX, NO_FAILOVER_PREFIX, Category
from erdrill.core.record import DrillRecord
from erdrill.lab.topology import PROFILES
from erdrill.reports.catalogue import CATALOGUE, RANK, FindingSpec, Severity

__all__ = [
    "CATALOGUE",
    "HOLD_TIMER_SHARE",
    "Assessment",
    "Detected",
    "DrilledTarget",
    "FindingSpec",
    "Severity",
    "assess",
    "classify",
    "derive",
    "drilled_target",
    "finding_ids_of",
    "hold_timer_ms",
    "previous_drill",
    "session_findings",
    "target_label",
]

HOLD_TIMER_SHARE = 5 / 6
"""A failover outage of at least this share of the BGP hold time (2.5 s of the fast
profile's 3 s, 150 s of Azure's 180 s) was detected by the hold timer, not by BFD."""


_BY_SLUG = {s.slug: s for s in CATALOGUE.values()}

# (slug, test on the finding text), first match wins; the texts are those written by
# drill.steady_state.steady_state_problems, drill.engine and drill.watchdog.
_TEXT_RULES: tuple[tuple[str, Any], ...] = (
    ("session-down", lambda t: t.startswith("BGP session")),
    ("tunnel-down", lambda t: "IPsec tunnel is down" in t),
    ("asymmetric-routing", lambda t: t.startswith("asymmetric routing")),
    ("not-on-expressroute", lambda t: t.startswith("both directions use")),
    ("vpn-more-specific", lambda t: "the VPN carries prefixes ExpressRoute does not" in t),
    ("no-vpn-backup", lambda t: "have no VPN backup" in t),
    ("no-failover", lambda t: t.startswith(NO_FAILOVER_PREFIX)),
    ("outage-over-limit", lambda t: t.startswith(LIMIT_EXCEEDED_PREFIX)),
    ("abort-guard", lambda t: t.startswith("abort guard:")),
    ("watchdog", lambda t: t.startswith("watchdog:")),
    ("stale-lock", lambda t: t.startswith("took over a stale drill lock")),
    ("not-restored", lambda t: t.startswith("undo of ")),
)


def classify(text: str) -> FindingSpec:
    """The catalogue entry for one of a record's finding texts (`ERD-OTHER-001` if none)."""
    known = CATALOGUE.get(text.split(":", 1)[0])
    if known is not None:  # a text naming its id first (the architecture checks)
        return known
    for slug, test in _TEXT_RULES:
        if test(text):
            return _BY_SLUG[slug]
    return _BY_SLUG["other"]


@dataclass
class Detected:
    """A finding of one drill: its catalogue entry, the evidence texts and its status."""

    spec: FindingSpec
    details: list[str] = field(default_factory=list)
    status: str = "new"  # new | recurring | fixed

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "id": s.id,
            "slug": s.slug,
            "severity": s.severity.value,
            "title": s.title,
            "action": s.action,
            **({"source": s.source} if s.source else {}),
            "status": self.status,
            "details": list(self.details),
        }


def hold_timer_ms(record: DrillRecord) -> float:
    """The BGP hold time of the record's timer profile (label "timer profile"; else Azure's)."""
    profile = record.labels.get("timer profile") or "azure"
    return float(PROFILES.get(profile, PROFILES["azure"])["hold_s"]) * 1000.0


def derive(record: DrillRecord) -> list[Detected]:
    """Every finding of `record`, most severe first, one entry per catalogue id."""
    found: dict[str, Detected] = {}

    def add(spec: FindingSpec, detail: str) -> None:
        entry = found.setdefault(spec.id, Detected(spec))
        if detail and detail not in entry.details:
            entry.details.append(detail)

    for text in record.findings:
        add(classify(text), text)
    category = record.failure_category
    if category == Category.LIMIT_EXCEEDED:
        add(_BY_SLUG["outage-over-limit"], record.message or "a figure broke its limit")
    elif category == Category.NOT_RESTORED:
        add(_BY_SLUG["not-restored"], record.message or "ExpressRoute not restored")
    elif category == Category.NO_FAILOVER and not any(
        d.spec.slug == "no-failover" for d in found.values()
    ):
        add(_BY_SLUG["no-failover"], record.message or "traffic did not fail over")
    for text, steady in session_findings(record):
        add(_BY_SLUG["session-not-opened" if steady else "session-broken"], text)
    outage = record.failover.outage_ms if record.failover else None
    hold = hold_timer_ms(record)
    if outage is not None and outage >= hold * HOLD_TIMER_SHARE:
        profile = record.labels.get("timer profile") or "azure (assumed)"
        add(
            _BY_SLUG["hold-timer-detection"],
            f"failover outage {outage:.0f} ms against a BGP hold time of {hold:.0f} ms "
            f"(timer profile {profile})",
        )
    return sorted(found.values(), key=lambda d: (RANK[d.spec.severity], d.spec.id))


def session_findings(record: DrillRecord) -> list[tuple[str, bool]]:
    """Each session that did not survive, in words, and whether it was in the steady state."""
    out = []
    for r in record.sessions:
        if r.survived:
            continue
        stall = f", stalled {r.stall_ms:.0f} ms" if r.stall_ms is not None else ""
        phase = r.phase or "steady-state"
        out.append(
            (
                f"session {r.name} to {r.address}:{r.port} {r.end} in the {phase}: "
                f"{r.reason}{stall} ({r.messages_echoed}/{r.messages_sent} messages echoed)",
                phase == "steady-state",
            )
        )
    return out


class DrilledTarget(NamedTuple):
    """Which target a drill record drilled, as the history tells targets apart."""

    target: str
    topology: str
    lab_prefix: str
    circuit: str


def drilled_target(record: DrillRecord) -> DrilledTarget:
    """The target a record drilled: its kind, and the topology, lab prefix or circuit that
    the target's labels name (the only place history lines of every age keep them)."""
    labels = record.labels
    return DrilledTarget(
        str(record.target),
        labels.get("topology", ""),
        labels.get("lab prefix", ""),
        labels.get("circuit") or labels.get("expressroute_circuit", ""),
    )


def target_label(key: tuple[str, str, str, str]) -> str:
    """A drilled target in words: ``lab (topology reference, lab prefix erd-lab)``."""
    target, topology, prefix, circuit = key
    parts = [
        f"{name} {value}"
        for name, value in (("topology", topology), ("lab prefix", prefix), ("circuit", circuit))
        if value
    ]
    return f"{target} ({', '.join(parts)})" if parts else target


def finding_ids_of(entry: Mapping[str, Any]) -> list[str]:
    """The finding ids a history entry keeps; derived from its record for older lines."""
    ids = entry.get("finding_ids")
    if isinstance(ids, list):
        return [str(i) for i in ids]
    record = DrillRecord.model_validate(entry)
    return [d.spec.id for d in derive(record)]


def previous_drill(
    record: DrillRecord, entries: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The latest history entry of the same target and fault as `record` (not itself)."""
    key, fault = drilled_target(record), record.fault
    found: Mapping[str, Any] | None = None
    for entry in entries:
        if entry.get("run_id") == record.run_id:
            continue
        try:
            other = DrillRecord.model_validate(entry)
        except ValueError:
            continue
        if drilled_target(other) == key and other.fault == fault:
            found = entry
    return found


@dataclass
class Assessment:
    """A drill's findings against the previous drill of the same target and fault."""

    findings: list[Detected]
    fixed: list[Detected]
    previous_run_id: str | None

    @property
    def ids(self) -> list[str]:
        return [d.spec.id for d in self.findings]

    def history_fields(self) -> dict[str, Any]:
        """The fields the drill's history line keeps (added before the line is chained)."""
        return {
            "finding_ids": self.ids,
            "finding_changes": {
                "previous_run_id": self.previous_run_id,
                "new": [d.spec.id for d in self.findings if d.status == "new"],
                "recurring": [d.spec.id for d in self.findings if d.status == "recurring"],
                "fixed": [d.spec.id for d in self.fixed],
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """The "findings" attachment and findings.json beside drill.json."""
        return {
            "schema": "erdrill.findings/1",
            "previous_run_id": self.previous_run_id,
            "findings": [d.to_dict() for d in self.findings],
            "fixed": [d.to_dict() for d in self.fixed],
        }


def assess(record: DrillRecord, entries: Sequence[Mapping[str, Any]]) -> Assessment:
    """`record`'s findings, each `new` or `recurring`; the previous drill's gone ones `fixed`.

    `entries` are the drill history's lines (chain fields may stay), oldest first.
    """
    findings = derive(record)
    previous = previous_drill(record, entries)
    if previous is None:
        return Assessment(findings, [], None)
    before = finding_ids_of(previous)
    for d in findings:
        d.status = "recurring" if d.spec.id in before else "new"
    now = {d.spec.id for d in findings}
    fixed = [
        Detected(CATALOGUE.get(i, _BY_SLUG["other"]), status="fixed")
        for i in dict.fromkeys(before)
        if i not in now
    ]
    return Assessment(findings, fixed, str(previous.get("run_id", "")) or None)
