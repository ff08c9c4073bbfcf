"""The drill timeline: one row per probe flow, RTTs and losses over time, path in use behind;
below, a zoomed panel per transition (failover, failback) with the outage shaded and labelled.

RTT axes are scaled to the bulk of the replies (a high percentile), not to outliers: replies
above the top are drawn as triangles on the top edge and counted in the panel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from erdrill.probes.samples import Sample
from erdrill.reports.timeline_panels import (
    DEFAULT_SUSTAIN_S,
    EVENT_STYLES,
    PATH_COLOURS,
    ZOOM_MAX_S,
    draw_events,
    draw_flow,
    draw_spans,
    draw_transition,
    legend_handles,
    tally,
)
from erdrill.reports.timeline_windows import Transition, transitions

__all__ = [
    "EVENT_STYLES",
    "PATH_COLOURS",
    "ZOOM_MAX_S",
    "Transition",
    "plot_timeline",
    "readable_title",
    "timeline_figure",
    "transitions",
    "words_from_test_id",
]

_TEST_ID = re.compile(r"^(?:test_)?(?P<name>[A-Za-z0-9_]+?)(?:\[(?P<params>.*)\])?$")


def words_from_test_id(name: str) -> str:
    """A pytest id in words: ``test_fault_moves[ce-link-down-vpn]`` -> ``Fault moves (ce-link-down-vpn)``."""
    m = _TEST_ID.match(name.strip())
    if m is None or ("_" not in name and "[" not in name):
        return name
    words = m.group("name").replace("_", " ").strip()
    words = words[:1].upper() + words[1:]
    params = m.group("params")
    return f"{words} ({params})" if params else words


def readable_title(
    scenario: str,
    target: str | None = None,
    fault: str | None = None,
    run_id: str | None = None,
) -> str:
    """The figure title: the scenario in words, then target, fault and run id."""
    name = scenario.strip()
    if name.startswith("test_") or (name and " " not in name.split("[")[0]):
        name = words_from_test_id(name)
    details = [
        f"target {target}" if target else "",
        f"fault {fault}" if fault else "no fault",
        f"run {run_id}" if run_id else "",
    ]
    tail = ", ".join(d for d in details if d)
    return f"{name or 'Drill timeline'}\n{tail}"


def plot_timeline(
    samples: Sequence[Sample],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    out: Path,
    *,
    title: str = "Drill timeline",
    outages: Mapping[str, float | None] | None = None,
    sustain_s: float = DEFAULT_SUSTAIN_S,
) -> Path:
    """Draw the drill (see `timeline_figure`) as a PNG at `out` and return `out`."""
    fig = timeline_figure(
        samples, events, path_spans, title=title, outages=outages, sustain_s=sustain_s
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", metadata={"Software": None})
    return out


def timeline_figure(
    samples: Sequence[Sample],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    *,
    title: str = "Drill timeline",
    outages: Mapping[str, float | None] | None = None,
    sustain_s: float = DEFAULT_SUSTAIN_S,
) -> Figure:
    """The timeline as a matplotlib Figure (Agg canvas, nothing global touched).

    One row per target and protocol: replies as RTT points, losses, late replies and
    unreachables marked along the bottom of the row; fault/restore/route events
    (``{"wall": s, "kind": ..., "detail": ...}``) as vertical lines; `path_spans`
    (``(start, end, path)`` in wall-clock seconds) shaded behind every row. Below, a
    panel per transition spans a few seconds around its event (at most `ZOOM_MAX_S`, but
    always the path change and the `sustain_s` after it),
    the outage shaded and labelled in ms: the figure from `outages` (``{"failover":
    ms, "failback": ms}``, e.g. the drill record's) when given, else measured from the
    samples. The time axis is seconds since the first sample or event. Axes carry
    labels ``flow:<flow>`` and ``transition:<name>``.
    """
    flows: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        flows[s.flow].append(s)
    names = sorted(flows) or ["(no samples)"]
    instants = [s.sent for s in samples] + [float(e["wall"]) for e in events]
    instants += [t for span in path_spans for t in span[:2]]
    t0 = min(instants) if instants else 0.0
    windows = transitions(samples, events, path_spans) if samples else []

    rows = len(names) + (1 if windows else 0)
    ratios = [1.0] * len(names) + ([1.5] if windows else [])
    height = 1.2 + 1.9 * len(names) + (2.6 if windows else 0.0)
    fig = Figure(figsize=(11, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg explicitly: no display, no global backend switch
    grid = fig.add_gridspec(rows, max(1, len(windows)), height_ratios=ratios)
    axes: list[Axes] = []
    for i, name in enumerate(names):
        ax = fig.add_subplot(grid[i, :], sharex=axes[0] if axes else None)
        ax.set_label(f"flow:{name}")
        axes.append(ax)
    for ax, name in zip(axes, names, strict=True):
        draw_spans(ax, path_spans, t0)
        draw_flow(ax, flows.get(name, []), t0)
        draw_events(ax, events, t0, label_them=ax is axes[0])
        ax.set_ylabel(f"{name}\nRTT ms", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.tick_params(labelsize=8)
        if name in flows:
            ax.text(
                0.005,
                0.97,
                tally(flows[name]),
                transform=ax.transAxes,
                fontsize=7,
                va="top",
                bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0},
            )
        else:
            ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center", va="center")
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("seconds since start (t0 = " + _utc(t0) + ")", fontsize=9)
    for k, window in enumerate(windows):
        zoom = fig.add_subplot(grid[len(names), k])
        zoom.set_label(f"transition:{window.name}")
        figure_ms = (outages or {}).get(window.name)  # the record's figure: first of each
        draw_transition(zoom, window, flows, events, path_spans, t0, figure_ms, sustain_s)
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=legend_handles(), loc="outside lower center", ncol=6, fontsize=8)
    return fig


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
