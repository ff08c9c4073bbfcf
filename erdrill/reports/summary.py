"""A terminal summary of failover and failback figures against their limits (rich table).

Limits live in `DrillRecord.limits`; the figure ``outage_ms`` of the failover transition is
judged against the first key present of ``failover_outage_ms``, ``failover.outage_ms`` and
``outage_ms`` (see `limit_for`), so one limit may cover both transitions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    "loss_derived_ms": "loss-derived\nms",
    "outage_ms": "outage\nms",
    "first_route_ms": "first route\nms",
}


def limit_for(record: DrillRecord, transition: str, figure: str) -> float | None:
    """The limit that applies to `figure` of `transition`, or None when there is none."""
    for key in (f"{transition}_{figure}", f"{transition}.{figure}", figure):
        if key in record.limits:
            return record.limits[key]
    return None


def summary_table(records: Sequence[DrillRecord], title: str = "erdrill drill summary") -> Table:
    """One row per drill and transition: figures against limits, counts and the outcome.

    The sessions column (first row of a drill; only when a drill kept sessions) counts the
    long-lived sessions that survived out of those opened.

    The first cell names the drill (scenario, run id, target, fault) and its verdict.
    """
    table = Table(title=title, header_style="bold")
    table.add_column("drill", ratio=1, min_width=20, overflow="fold")
    table.add_column("transition", no_wrap=True)
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
                _drill_cell(rec) if i == 0 else "",
                transition,
                *cells,
                f"{figures.lost}/{figures.sent}",
                *([_sessions(rec) if i == 0 else Text("")] if sessions else []),
                _result(figures, exceeded),
                end_section=i == len(present) - 1,
            )
        if not present:
            note = rec.message or f"no figures (stopped in phase {rec.phase})"
            blanks = ["-"] * len(FIGURES)
            table.add_row(
                _drill_cell(rec),
                "-",
                *blanks,
                "-",
                *([_sessions(rec)] if sessions else []),
                Text(note, style="yellow"),
                end_section=True,
            )
    intervals = sorted({r.sampling_interval_ms for r in records if r.sampling_interval_ms})
    if intervals:
        table.caption = (
            "sampling interval "
            + ", ".join(f"{i:g} ms" for i in intervals)
            + ": figures are accurate to one interval"
        )
    return table


def _drill_cell(rec: DrillRecord) -> Text:
    text = Text(rec.scenario or rec.run_id, style="bold")
    text.append(f"\nrun {rec.run_id}" if rec.scenario else "")
    text.append(f"\ntarget {rec.target}")
    if rec.fault:
        text.append(f", fault {rec.fault}")
    text.append("\n")
    text.append_text(_verdict(rec))
    return text


def render_summary(records: Sequence[DrillRecord], width: int = 120, color: bool = False) -> str:
    """The summary table as text, e.g. for `terminalreporter.write` in pytest_terminal_summary."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
    )
    console.print(summary_table(records))
    return buf.getvalue()


def _figure_cells(
    rec: DrillRecord, transition: str, figures: TransitionFigures
) -> tuple[list[Text], bool]:
    cells: list[Text] = []
    exceeded = False
    for name in FIGURES:
        value = getattr(figures, name)
        limit = limit_for(rec, transition, name)
        if value is None:
            cells.append(Text("-" if limit is None else f"- (limit {limit:g})"))
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
