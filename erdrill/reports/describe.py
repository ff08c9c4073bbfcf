"""A drill at a glance: the HTML description of its Allure test and the run's summary.

`drill_description_html` puts in the test's description (shown on its overview, no
attachment to open) the verdict, the failover and failback figures (``outage_ms``,
``loss_derived_ms``) with each limit and by how much it was met or missed, the path
before, during and after the fault, the route-specific minimum and maximum across flows
(RFC 6412), the long-lived sessions (survived or broken, their longest stall), the findings
with their actions and the target's freshness. The description is not part of Allure's history id, so a drill run twice is
still one test with two history entries. `run_summary_text` is the same across the drills
of a run, for the report's front page.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from erdrill.core.record import DrillRecord, TransitionFigures
from erdrill.reports.findings import Assessment, Detected
from erdrill.reports.freshness import TargetFreshness
from erdrill.reports.summary import TRANSITIONS, limit_for

__all__ = [
    "GLANCE_FIGURES",
    "FigureRow",
    "drill_description_html",
    "figure_rows",
    "figures_lines",
    "path_lines",
    "route_specific_lines",
    "run_summary_text",
    "session_lines",
]

GLANCE_FIGURES: dict[str, str] = {"outage_ms": "outage", "loss_derived_ms": "loss-derived"}
PHASES = ("before", "during", "after")


@dataclass(frozen=True)
class FigureRow:
    """One figure of one transition against its limit."""

    transition: str
    figure: str
    value: float | None
    limit: float | None

    @property
    def judgement(self) -> str:
        """``met by 970 ms``, ``missed by 1351 ms``, ``no limit`` or ``not measured``."""
        if self.value is None:
            return "not measured"
        if self.limit is None:
            return "no limit"
        margin = self.limit - self.value
        if margin >= 0:
            return f"met by {margin:.0f} ms"
        return f"MISSED by {-margin:.0f} ms"

    def text(self) -> str:
        value = "-" if self.value is None else f"{self.value:.0f} ms"
        limit = "no limit" if self.limit is None else f"limit {self.limit:g} ms"
        name = GLANCE_FIGURES.get(self.figure, self.figure)
        judged = "" if self.value is None or self.limit is None else f": {self.judgement}"
        return f"{self.transition} {name} {value} ({self.figure}), {limit}{judged}"


def figure_rows(record: DrillRecord) -> list[FigureRow]:
    """The glance figures of each transition the drill measured."""
    rows = []
    for transition in TRANSITIONS:
        figures: TransitionFigures | None = getattr(record, transition)
        if figures is None:
            continue
        for name in GLANCE_FIGURES:
            rows.append(
                FigureRow(
                    transition,
                    name,
                    getattr(figures, name),
                    limit_for(record, transition, name),
                )
            )
    return rows


def figures_lines(record: DrillRecord) -> list[str]:
    """The glance figures in words, one line each."""
    return [row.text() for row in figure_rows(record)]


def path_lines(record: DrillRecord) -> list[str]:
    """``before: forward expressroute, return expressroute`` for each phase recorded."""
    out = []
    for phase in PHASES:
        at = record.paths.get(phase)
        if at is not None:
            out.append(f"{phase}: forward {at.forward}, return {at.return_}")
        flows = record.flow_paths.get(phase)
        if flows:
            out.append(f"{phase}, by flow: {flow_groups(flows)}")
    return out


def flow_groups(flows: dict[str, dict[str, str]]) -> str:
    """``expressroute/primary both ways: app1, data1; vpn/instance-1 -> expressroute: x``."""
    groups: dict[str, list[str]] = {}
    for node, paths in sorted(flows.items()):
        fwd, back = paths.get("forward", "?"), paths.get("return", "?")
        key = f"{fwd} both ways" if fwd == back else f"forward {fwd}, return {back}"
        groups.setdefault(key, []).append(node)
    return "; ".join(f"{key}: {', '.join(nodes)}" for key, nodes in groups.items())


def route_specific_lines(record: DrillRecord) -> list[str]:
    """``failover route-specific (tcp, 1 flow): loss-derived 4-4 ms, outage 4-4 ms``."""
    out = []
    for transition in TRANSITIONS:
        figures: TransitionFigures | None = getattr(record, transition)
        if figures is None:
            continue
        every = figures.route_specific.get("all")
        for group, rs in figures.route_specific.items():
            if every is not None and group != "all" and rs.flows == every.flows:
                continue  # the same flows as "all" (one destination, or one protocol)
            flows = f"{rs.flows} flow{'s' if rs.flows != 1 else ''}"
            spread = (
                f"min {rs.loss_derived_min_ms:.0f} ms ({rs.fastest}), "
                f"max {rs.loss_derived_max_ms:.0f} ms ({rs.slowest})"
                if rs.flows > 1
                else f"{rs.loss_derived_max_ms:.0f} ms"
            )
            out.append(
                f"{transition} route-specific {group} ({flows}): loss-derived {spread}; "
                f"outage {rs.outage_min_ms:.0f}-{rs.outage_max_ms:.0f} ms"
            )
    return out


def session_lines(record: DrillRecord) -> list[str]:
    """``session workload#1 to 10.1.1.4:443: survived, longest stall 212 ms, 80/80 echoed``."""
    out = []
    for r in record.sessions:
        stall = "" if r.stall_ms is None else f", longest stall {r.stall_ms:.0f} ms"
        echoed = f", {r.messages_echoed}/{r.messages_sent} messages echoed"
        if r.survived:
            out.append(f"session {r.name} to {r.address}:{r.port}: survived{stall}{echoed}")
        else:
            out.append(
                f"session {r.name} to {r.address}:{r.port}: BROKEN ({r.end}) in the "
                f"{r.phase or 'steady-state'}: {r.reason}{stall}{echoed}"
            )
    return out


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _verdict(record: DrillRecord) -> str:
    tail = f" ({record.failure_category})" if record.failure_category else ""
    msg = f": {record.message}" if record.message else ""
    return f"{record.verdict}{tail}{msg}"


def _finding_html(d: Detected) -> str:
    s = d.spec
    details = "".join(f"<li><code>{_e(t)}</code></li>" for t in d.details)
    return (
        f"<li><b>{_e(s.id)}</b> [{_e(s.severity.value)}, {_e(d.status)}] {_e(s.title)}"
        f"<br/>Action: {_e(s.action)}" + (f"<ul>{details}</ul>" if details else "") + "</li>"
    )


def drill_description_html(
    record: DrillRecord,
    assessment: Assessment | None = None,
    fresh: TargetFreshness | None = None,
    intro: str = "",
) -> str:
    """The description of a drill's Allure test (HTML, every text escaped)."""
    parts: list[str] = []
    if intro.strip():
        parts += [f"<p>{_e(p.strip())}</p>" for p in intro.split("\n\n") if p.strip()]
    parts.append(f"<h3>Drill {_e(record.run_id)}</h3>")
    parts.append(f"<p>Verdict: <b>{_e(_verdict(record))}</b>")
    if record.fault:
        parts.append(f"<br/>Fault: {_e(record.fault)}")
    if record.sampling_interval_ms:
        parts.append(
            f"<br/>Figures are accurate to one sampling interval "
            f"({record.sampling_interval_ms:g} ms)."
        )
    parts.append("</p>")
    rows = figure_rows(record)
    if rows:
        parts.append(
            "<table><thead><tr><th>transition</th><th>figure</th><th>measured</th>"
            "<th>limit</th><th>result</th></tr></thead><tbody>"
        )
        for row in rows:
            value = "-" if row.value is None else f"{row.value:.0f} ms"
            limit = "-" if row.limit is None else f"{row.limit:g} ms"
            parts.append(
                f"<tr><td>{_e(row.transition)}</td><td>{_e(row.figure)}</td>"
                f"<td>{_e(value)}</td><td>{_e(limit)}</td><td>{_e(row.judgement)}</td></tr>"
            )
        parts.append("</tbody></table>")
        parts.append("<ul>" + "".join(f"<li>{_e(t)}</li>" for t in figures_lines(record)))
        parts.append("</ul>")
    else:
        parts.append("<p>No failover or failback figures (no fault was injected).</p>")
    for title, lines in (
        (
            "Route-specific convergence (RFC 6412, minimum and maximum across flows):",
            route_specific_lines(record),
        ),
        ("Path in use:", path_lines(record)),
        ("Long-lived sessions across the fault:", session_lines(record)),
    ):
        if lines:
            parts.append(f"<p>{_e(title)}</p><ul>")
            parts += [f"<li>{_e(line)}</li>" for line in lines]
            parts.append("</ul>")
    parts += _findings_html(assessment)
    if fresh is not None:
        parts.append(f"<p>Freshness: {_e(fresh.text())}</p>")
    return "\n".join(parts)


def _findings_html(assessment: Assessment | None) -> list[str]:
    if assessment is None:
        return []
    against = (
        f" (compared with drill {assessment.previous_run_id})"
        if assessment.previous_run_id
        else " (no earlier drill of this target and fault)"
    )
    if not assessment.findings:
        parts = [f"<p>Findings: none{_e(against)}.</p>"]
    else:
        parts = [f"<p>Findings{_e(against)}:</p><ul>"]
        parts += [_finding_html(d) for d in assessment.findings]
        parts.append("</ul>")
    if assessment.fixed:
        fixed = ", ".join(f"{d.spec.id} ({d.spec.title})" for d in assessment.fixed)
        parts.append(f"<p>Fixed since the previous drill: {_e(fixed)}</p>")
    return parts


def run_summary_text(
    drills: Sequence[tuple[DrillRecord, Assessment | None]],
    fresh: Sequence[TargetFreshness] = (),
    names: Mapping[str, str] | None = None,
) -> str:
    """Every drill of the run in a few lines, then the freshness of every target.

    `names` gives a drill's readable scenario name by run id (else `record.scenario`)."""
    lines = ["erdrill drill summary", ""]
    for record, assessment in drills:
        lines.append((names or {}).get(record.run_id) or record.scenario or record.run_id)
        lines.append(f"  run {record.run_id}, target {record.target}, fault {record.fault or '-'}")
        lines.append(f"  verdict: {_verdict(record)}")
        lines += [f"  {t}" for t in figures_lines(record)]
        lines += [f"  path {p}" for p in path_lines(record)]
        lines += [f"  {t}" for t in session_lines(record)]
        if assessment is not None:
            for d in assessment.findings:
                lines.append(
                    f"  finding {d.spec.id} [{d.spec.severity.value}, {d.status}] {d.spec.title}"
                )
                lines.append(f"    action: {d.spec.action}")
            for d in assessment.fixed:
                lines.append(f"  fixed {d.spec.id} {d.spec.title}")
        lines.append("")
    if fresh:
        lines.append("Drill freshness")
        lines += [f"  {f.text()}" for f in sorted(fresh, key=lambda f: (not f.overdue, f.label))]
    return "\n".join(lines) + "\n"
