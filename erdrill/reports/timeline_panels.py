"""Drawing the timeline's axes: path spans, flow points, events, transition panels, legend.

RTT axes are scaled to the bulk of the replies (a high percentile), not to outliers: replies
above the top are drawn as triangles on the top edge and counted in the panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from erdrill.core.paths import PathKind
from erdrill.probes.samples import Outcome, Sample
from erdrill.reports.timeline_windows import Transition

__all__ = [
    "DEFAULT_SUSTAIN_S",
    "EVENT_STYLES",
    "PATH_COLOURS",
    "ZOOM_MAX_S",
    "draw_events",
    "draw_flow",
    "draw_spans",
    "draw_transition",
    "legend_handles",
    "tally",
]

PATH_COLOURS: dict[str, str] = {
    PathKind.EXPRESSROUTE.value: "#cfe0fb",
    PathKind.VPN.value: "#ffe2b8",
    PathKind.UNKNOWN.value: "#e4e4e4",
    PathKind.NONE.value: "#f6c9c9",
    "asymmetric": "#e3d3f2",  # forward and return on different paths
}
EVENT_STYLES: dict[str, dict[str, Any]] = {
    "fault": {"color": "#c0392b", "linestyle": "--", "linewidth": 1.6},
    "restore": {"color": "#1e8449", "linestyle": "--", "linewidth": 1.6},
    "route": {"color": "#555555", "linestyle": ":", "linewidth": 1.0},
}
_OUTCOME_MARKS: dict[Outcome, dict[str, Any]] = {
    Outcome.LOST: {"marker": "x", "color": "#c0392b", "label": "lost"},
    Outcome.LATE: {"marker": "v", "color": "#d68910", "label": "late (counted lost)"},
    Outcome.UNREACHABLE: {"marker": "s", "color": "#7d3c98", "label": "unreachable"},
}


ZOOM_MAX_S = 9.0
"""The widest a transition panel gets (seconds), whatever the outage."""
_ZOOM_BEFORE_S = 1.0
_ZOOM_AFTER_S = 3.0
_ZOOM_MARGIN_S = 0.5
DEFAULT_SUSTAIN_S = 1.0
"""How long a new path is held before the drill counts it (probes/measure.py's default)."""
_RTT_PERCENTILE = 99.0
_OUTAGE_COLOUR = "#e74c3c"
_CLIPPED: dict[str, Any] = {"marker": "^", "color": "#8e44ad"}
_FLOW_COLOURS = ("#1f4e79", "#117a65", "#b9770e", "#6c3483", "#a93226", "#2e4053")


def draw_transition(
    ax: Axes,
    window: Transition,
    flows: Mapping[str, Sequence[Sample]],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    t0: float,
    figure_ms: float | None,
    sustain_s: float = DEFAULT_SUSTAIN_S,
) -> None:
    """A transition panel: a few seconds around `window`'s event, its outage shaded and labelled.

    It covers the path change and the `sustain_s` after it (the drill's sustained
    recovery), however late the change came.
    """
    lo = window.event_at - _ZOOM_BEFORE_S
    hi = window.event_at + _ZOOM_AFTER_S
    if window.outage is not None:
        lo = min(lo, window.outage[0] - 0.5)
        hi = max(hi, window.outage[1] + 1.0)
    hi = min(hi, lo + ZOOM_MAX_S)
    if window.changed_at is not None:  # the change and its sustain period, always
        hi = max(hi, window.changed_at + sustain_s + _ZOOM_MARGIN_S)
    inside = {name: [s for s in flow if lo <= s.sent <= hi] for name, flow in sorted(flows.items())}
    draw_spans(ax, path_spans, t0)
    replies = [r for flow in inside.values() for s in flow if (r := _rtt(s)) is not None]
    top = _y_top(replies)
    for i, (name, flow) in enumerate(inside.items()):
        colour = _FLOW_COLOURS[i % len(_FLOW_COLOURS)]
        draw_flow(ax, flow, t0, top=top, colour=colour, label=name)
    shown_events = [e for e in events if lo <= float(e["wall"]) <= hi]
    draw_events(ax, shown_events, t0, label_them=True)
    if window.outage is not None:
        start, end = window.outage
        measured = (end - start) * 1000.0
        shown = figure_ms if figure_ms is not None else measured
        min_width = 0.012 * (hi - lo)  # a 20 ms outage stays visible in a 9 s panel
        mid = (start + end) / 2.0
        half = max((end - start) / 2.0, min_width / 2.0)
        shade = ax.axvspan(
            mid - half - t0,
            mid + half - t0,
            color=_OUTAGE_COLOUR,
            alpha=0.28,
            linewidth=0,
            zorder=1,
        )
        shade.set_gid(f"outage:{window.name}")
        bound = "\u2265 " if window.open_ended else ""
        beyond = " (ends after this panel)" if end > hi else ""
        ax.annotate(
            f"outage {bound}{shown:,.0f} ms{beyond}",
            xy=(min(mid, hi) - t0, 0.72),
            xycoords=("data", "axes fraction"),
            xytext=(6, 0),
            textcoords="offset points",
            fontsize=8,
            color="#922b21",
            fontweight="bold",
            bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0},
        )
    else:
        ax.text(0.99, 0.9, "no loss", transform=ax.transAxes, ha="right", fontsize=8)
    kind = "fault" if window.name.startswith("failover") else "restore"
    ax.set_title(f"{window.name}: {kind} at +{window.event_at - t0:.2f} s", fontsize=9, loc="left")
    ax.set_xlim(lo - t0, hi - t0)
    ax.set_xlabel("seconds since start", fontsize=8)
    ax.set_ylabel("RTT ms", fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.tick_params(labelsize=7)
    if len(inside) > 1:
        ax.legend(fontsize=6, loc="center right", markerscale=2, framealpha=0.7)


def _rtt(s: Sample) -> float | None:
    return s.rtt_ms if s.outcome is Outcome.REPLY else None


def _y_top(rtts: Sequence[float]) -> float:
    """The RTT axis top: the bulk of the replies with headroom, never an outlier."""
    if not rtts:
        return 1.0
    values = np.asarray(rtts, dtype=float)
    peak = float(values.max())
    bulk = float(np.percentile(values, _RTT_PERCENTILE))
    top = max(bulk * 1.3, float(np.median(values)) * 2.0, 1.0)
    return max(peak * 1.15, 1.0) if peak <= top else top


def draw_spans(ax: Axes, path_spans: Sequence[tuple[float, float, str]], t0: float) -> None:
    """Shade `path_spans` (the path in use) behind the axes."""
    for start, end, path in path_spans:
        colour = PATH_COLOURS.get(str(path), PATH_COLOURS[PathKind.UNKNOWN.value])
        ax.axvspan(start - t0, end - t0, color=colour, linewidth=0, zorder=0)


def draw_flow(
    ax: Axes,
    flow: Sequence[Sample],
    base: float,
    *,
    top: float | None = None,
    colour: str = "#1f4e79",
    label: str | None = None,
) -> None:
    """A flow's replies as RTT points (clipped above `top`) and its losses along the bottom."""
    replies: list[tuple[float, float]] = [
        (s.sent - base, rtt) for s in flow if (rtt := _rtt(s)) is not None
    ]
    if top is None:
        top = _y_top([y for _, y in replies])
    kept = [(x, y) for x, y in replies if y <= top]
    clipped = [x for x, y in replies if y > top]
    if kept:
        ax.scatter(
            [x for x, _ in kept], [y for _, y in kept], s=6, color=colour, zorder=3, label=label
        )
    if clipped:
        ax.scatter(
            clipped,
            [top * 0.97] * len(clipped),
            marker=_CLIPPED["marker"],
            color=_CLIPPED["color"],
            s=22,
            zorder=4,
        )
        peak = max(y for _, y in replies)
        ax.text(
            0.995,
            0.97,
            f"{len(clipped)} above {top:.3g} ms (max {peak:.4g} ms)",
            transform=ax.transAxes,
            fontsize=7,
            ha="right",
            va="top",
            color=_CLIPPED["color"],
            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0},
        )
    ax.set_ylim(bottom=-0.12 * top, top=top)
    for outcome, style in _OUTCOME_MARKS.items():
        hits = [s for s in flow if s.outcome is outcome]
        if hits:
            ax.scatter(
                [s.sent - base for s in hits],
                [-0.06 * top] * len(hits),
                marker=style["marker"],
                color=style["color"],
                s=18,
                linewidths=1.0,
                zorder=4,
            )


def draw_events(ax: Axes, events: Sequence[Mapping[str, Any]], t0: float, label_them: bool) -> None:
    """Fault, restore and route events as vertical lines, fault/restore labelled if asked."""
    for e in events:
        kind = str(e.get("kind", "route"))
        x = float(e["wall"]) - t0
        ax.axvline(x, zorder=5, **EVENT_STYLES.get(kind, EVENT_STYLES["route"]))
        if label_them and kind in ("fault", "restore"):
            ax.annotate(
                kind,
                xy=(x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -10),
                textcoords="offset points",
                fontsize=8,
                color=EVENT_STYLES[kind]["color"],
            )


def legend_handles() -> list[Any]:
    """The figure legend: replies, loss marks, events, paths, clipped replies, outages."""
    handles: list[Any] = [
        Line2D([], [], marker="o", linestyle="", color="#1f4e79", markersize=4, label="reply (RTT)")
    ]
    handles += [
        Line2D([], [], marker=st["marker"], linestyle="", color=st["color"], label=st["label"])
        for st in _OUTCOME_MARKS.values()
    ]
    handles += [Line2D([], [], label=kind, **style) for kind, style in EVENT_STYLES.items()]
    handles += [
        Patch(color=PATH_COLOURS[p.value], label=f"path: {p.value}")
        for p in (PathKind.EXPRESSROUTE, PathKind.VPN, PathKind.NONE)
    ]
    handles.append(Patch(color=PATH_COLOURS["asymmetric"], label="path: asymmetric"))
    handles.append(
        Line2D(
            [], [], linestyle="", markersize=6, label="reply above the axis (clipped)", **_CLIPPED
        )
    )
    handles.append(Patch(color=_OUTAGE_COLOUR, alpha=0.28, label="outage (transition panels)"))
    return handles


def tally(flow: Sequence[Sample]) -> str:
    """The flow's counts: sent, lost, late, unreachable."""
    counts = {o: sum(1 for s in flow if s.outcome is o) for o in Outcome}
    return (
        f"sent {len(flow)}, lost {counts[Outcome.LOST]}, late {counts[Outcome.LATE]}, "
        f"unreachable {counts[Outcome.UNREACHABLE]}"
    )
