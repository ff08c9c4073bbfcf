"""A terminal summary of failover and failback figures against their limits (rich table).

Limits live in `DrillRecord.limits`; the figure ``outage_ms`` of the failover transition is
judged against the first key present of ``failover_outage_ms``, ``failover.outage_ms`` and
``outage_ms`` (see `limit_for`), so one limit may cover both transitions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from erdrill.core.outcomes import Verdict
from erdrill.core.record import DrillRecord, TransitionFigures

__all__ = [
    "FIGURES",
    "TRANSITIONS",
    "limit_for",
    "render_summary",
    "summary_table",
]

TRANSITIONS = ("failover", "failback")
FIGURES: dict[str, str] = {
    "loss_derived_ms": "loss-\nderived ms",
    "outage_ms": "outage\nms",
    "first_route_ms": "first\nroute ms",
}


def limit_for(record: DrillRecord, transition: str, figure: str) -> float | None:
    """The limit that applies to `figure` of `transition`, or None when there is none."""
    for key in (f"{transition}_{figure}", f"{transition}.{figure}", figure):
        if key in record.limits:
            return record.limits[key]
    return None


def summary_table(records: Sequence[DrillRecord], title: str = "erdrill drill summary") -> Table:
    """One row per drill and transition: figures against limits, counts and the outcome.

    The sessions column (only when a drill kept sessions) counts the long-lived sessions
    that survived out of those opened, on the drill's first transition.
    """
    # one space between columns: a drill with sessions still fits 80 columns
    table = Table(
        title=title or None, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
        show_edge=False, padding=(0, 1, 0, 0),
    )  # fmt: skip
    table.add_column("", no_wrap=True)
    for label in FIGURES.values():
        table.add_column(label, justify="right", min_width=6)
    table.add_column("lost/sent", justify="right", min_width=5)
    sessions = any(r.sessions for r in records)
    if sessions:
        table.add_column("sessions\nkept", justify="right", min_width=5)
    table.add_column("result", min_width=8)
    for rec in records:
        present = [t for t in TRANSITIONS if getattr(rec, t) is not None]
        for i, transition in enumerate(present):
            figures: TransitionFigures = getattr(rec, transition)
            cells, exceeded = _figure_cells(rec, transition, figures)
            table.add_row(
                transition,
                *cells,
                f"{figures.lost}/{figures.sent}",
                *([_sessions(rec) if i == 0 else Text("")] if sessions else []),
                _result(figures, exceeded),
                end_section=i == len(present) - 1,
            )
    return table


def _no_figures(rec: DrillRecord) -> Text:
    """What a drill without transitions did: the steady state it checked, or why it stopped."""
    if rec.fault is None and rec.verdict == Verdict.PASSED:
        if "misconfigured" in rec.tags:
            first = rec.findings[0] if rec.findings else rec.message or "the misconfiguration"
            more = len(rec.findings) - 1
            caught = first + (f" (and {more} more finding{'s' * (more > 1)})" if more > 0 else "")
            return Text(f"demonstration: the steady-state check caught {caught}", style="green")
        checks = f"{len(rec.checks)} checks" if rec.checks else "its checks"
        return Text(f"steady state held: {checks}, no fault{_where(rec)}", style="green")
    return Text(rec.message or f"no figures (stopped in phase {rec.phase})", style="yellow")


def _where(rec: DrillRecord) -> str:
    before = rec.paths.get("before")
    if before is None:
        return ""
    if before.forward == before.return_:
        return f"; forward and return on {before.forward}"
    return f"; forward on {before.forward}, return on {before.return_}"


def _heading(rec: DrillRecord) -> Group:
    """The drill in words: its title (with the outline row when the title shows none of it),
    then run, target, fault and verdict."""
    title = Text(rec.scenario or rec.run_id, style="bold")
    values = list(rec.example.values())
    if values and not any(v in (rec.scenario or "") for v in values):
        title.append(" (" + ", ".join(f"{k} {v}" for k, v in rec.example.items()) + ")")
    line = Text(" · ".join(p for p in (rec.run_id, rec.target, rec.fault) if p))
    line.append(" · ")
    line.append_text(_verdict(rec))
    return Group(title, _indented(line))


def _indented(renderable: RenderableType) -> Padding:
    return Padding(renderable, (0, 0, 0, 2), expand=False)


def render_summary(records: Sequence[DrillRecord], width: int = 100, color: bool = False) -> str:
    """The summary as text, e.g. for `terminalreporter.write` in pytest_terminal_summary.

    Each drill takes a heading of one or two lines (title; run, target, fault, verdict),
    then its transitions' figures against their limits, or what it checked instead.
    """
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
    )
    for i, rec in enumerate(records):
        if i:
            console.print()
        console.print(_heading(rec))
        if rec.failover is None and rec.failback is None:
            console.print(_indented(_no_figures(rec)))
        else:
            console.print(_indented(summary_table([rec], title="")))
    intervals = sorted({r.sampling_interval_ms for r in records if r.sampling_interval_ms})
    if intervals:
        console.print(
            "sampling interval "
            + ", ".join(f"{i:g} ms" for i in intervals)
            + ": figures are accurate to one interval"
        )
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())


def _figure_cells(
    rec: DrillRecord, transition: str, figures: TransitionFigures
) -> tuple[list[Text], bool]:
    cells: list[Text] = []
    exceeded = False
    for name in FIGURES:
        value = getattr(figures, name)
        limit = limit_for(rec, transition, name)
        if value is None:
            cells.append(Text("-" if limit is None else f"- (<= {limit:g})"))
        elif limit is None:
            cells.append(Text(f"{value:.0f}"))
        elif value > limit:
            exceeded = True
            cells.append(Text(f"{value:.0f} > {limit:g}", style="bold red"))
        else:
            cells.append(Text(f"{value:.0f} <= {limit:g}", style="green"))
    return cells, exceeded


def _sessions(rec: DrillRecord) -> Text:
    """Long-lived sessions that survived out of those opened: ``2/2``, red when any broke."""
    if not rec.sessions:
        return Text("-")
    kept = sum(1 for s in rec.sessions if s.survived)
    style = "green" if kept == len(rec.sessions) else "bold red"
    return Text(f"{kept}/{len(rec.sessions)}", style=style)


def _result(figures: TransitionFigures, exceeded: bool) -> Text:
    if not figures.recovered:
        return Text("not recovered", style="bold red")
    if exceeded:
        return Text("limit exceeded", style="bold red")
    return Text("within limits", style="green")


def _verdict(rec: DrillRecord) -> Text:
    style = {"passed": "green", "failed": "bold red"}.get(rec.verdict, "yellow")
    tail = f": {rec.failure_category}" if rec.failure_category else ""
    return Text(rec.verdict + tail, style=style)
