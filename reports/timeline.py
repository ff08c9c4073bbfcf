"""The drill timeline: one row per probe flow, RTTs and losses over time, path in use behind;
below, a zoomed panel per transition (failover, failback) with the outage shaded and labelled.

RTT axes are scaled to the bulk of the replies (a high percentile), not to outliers: replies
above the top are drawn as triangles on the top edge and counted in the panel.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from core.paths import PathKind
from probes.samples import Outcome, Sample

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
_RTT_PERCENTILE = 99.0
_OUTAGE_COLOUR = "#e74c3c"
_CLIPPED: dict[str, Any] = {"marker": "^", "color": "#8e44ad"}
_FLOW_COLOURS = ("#1f4e79", "#117a65", "#b9770e", "#6c3483", "#a93226", "#2e4053")
_TRANSITION_OF = {"fault": "failover", "restore": "failback"}


@dataclass(frozen=True, slots=True)
class Transition:
    """One transition window: the event that began it and the longest outage after it.

    `outage` is (last reply before the loss, first reply after it) in wall-clock seconds
    for the flow with the longest loss, None without loss; `open_ended` when no reply
    came back before the window ended.
    """

    name: str  # failover, failback (numbered when repeated)
    event_at: float
    window_end: float
    outage: tuple[float, float] | None
    open_ended: bool = False

    @property
    def outage_ms(self) -> float | None:
        return None if self.outage is None else (self.outage[1] - self.outage[0]) * 1000.0


def transitions(samples: Sequence[Sample], events: Sequence[Mapping[str, Any]]) -> list[Transition]:
    """A transition per fault (failover) and restore (failback) event, oldest first."""
    marks = sorted(
        (float(e["wall"]), _TRANSITION_OF[str(e.get("kind"))])
        for e in events
        if str(e.get("kind")) in _TRANSITION_OF
    )
    last_sent = max((s.sent for s in samples), default=None)
    seen: dict[str, int] = defaultdict(int)
    out: list[Transition] = []
    for i, (at, name) in enumerate(marks):
        seen[name] += 1
        label = name if seen[name] == 1 else f"{name} {seen[name]}"
        end = marks[i + 1][0] if i + 1 < len(marks) else (last_sent if last_sent else at)
        span, open_ended = _longest_outage(samples, at, max(end, at))
        out.append(Transition(label, at, max(end, at), span, open_ended))
    return out


def _longest_outage(
    samples: Sequence[Sample], start: float, end: float
) -> tuple[tuple[float, float] | None, bool]:
    by_flow: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_flow[s.flow].append(s)
    best: tuple[float, float] | None = None
    best_open = False
    for flow in by_flow.values():
        flow.sort(key=lambda s: s.sent)
        last_reply: float | None = None
        first_loss: float | None = None
        for s in flow:
            if s.sent > end and first_loss is None:
                break
            if s.answered:
                if first_loss is not None:
                    span = (last_reply if last_reply is not None else first_loss, s.sent)
                    if best is None or span[1] - span[0] > best[1] - best[0]:
                        best, best_open = span, False
                    first_loss = None
                    if s.sent > end:
                        break
                last_reply = s.sent
            elif start <= s.sent < end and first_loss is None:
                first_loss = s.sent
        if first_loss is not None:  # no reply after the loss
            span = (last_reply if last_reply is not None else first_loss, flow[-1].sent)
            if best is None or span[1] - span[0] > best[1] - best[0]:
                best, best_open = span, True
    return best, best_open


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
) -> Path:
    """Draw the drill (see `timeline_figure`) as a PNG at `out` and return `out`."""
    fig = timeline_figure(samples, events, path_spans, title=title, outages=outages)
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
) -> Figure:
    """The timeline as a matplotlib Figure (Agg canvas, nothing global touched).

    One row per target and protocol: replies as RTT points, losses, late replies and
    unreachables marked along the bottom of the row; fault/restore/route events
    (``{"wall": s, "kind": ..., "detail": ...}``) as vertical lines; `path_spans`
    (``(start, end, path)`` in wall-clock seconds) shaded behind every row. Below, a
    panel per transition spans a few seconds around its event (at most `ZOOM_MAX_S`),
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
    windows = transitions(samples, events) if samples else []

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
        _draw_spans(ax, path_spans, t0)
        _draw_flow(ax, flows.get(name, []), t0)
        _draw_events(ax, events, t0, label_them=ax is axes[0])
        ax.set_ylabel(f"{name}\nRTT ms", fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.tick_params(labelsize=8)
        if name in flows:
            ax.text(
                0.005,
                0.97,
                _tally(flows[name]),
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
        _draw_transition(zoom, window, flows, events, path_spans, t0, figure_ms)
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=_legend_handles(), loc="outside lower center", ncol=6, fontsize=8)
    return fig


def _draw_transition(
    ax: Axes,
    window: Transition,
    flows: Mapping[str, Sequence[Sample]],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    t0: float,
    figure_ms: float | None,
) -> None:
    lo = window.event_at - _ZOOM_BEFORE_S
    hi = window.event_at + _ZOOM_AFTER_S
    if window.outage is not None:
        lo = min(lo, window.outage[0] - 0.5)
        hi = max(hi, window.outage[1] + 1.0)
    hi = min(hi, lo + ZOOM_MAX_S)
    inside = {name: [s for s in flow if lo <= s.sent <= hi] for name, flow in sorted(flows.items())}
    _draw_spans(ax, path_spans, t0)
    replies = [r for flow in inside.values() for s in flow if (r := _rtt(s)) is not None]
    top = _y_top(replies)
    for i, (name, flow) in enumerate(inside.items()):
        colour = _FLOW_COLOURS[i % len(_FLOW_COLOURS)]
        _draw_flow(ax, flow, t0, top=top, colour=colour, label=name)
    shown_events = [e for e in events if lo <= float(e["wall"]) <= hi]
    _draw_events(ax, shown_events, t0, label_them=True)
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


def _draw_spans(ax: Axes, path_spans: Sequence[tuple[float, float, str]], t0: float) -> None:
    for start, end, path in path_spans:
        colour = PATH_COLOURS.get(str(path), PATH_COLOURS[PathKind.UNKNOWN.value])
        ax.axvspan(start - t0, end - t0, color=colour, linewidth=0, zorder=0)


def _draw_flow(
    ax: Axes,
    flow: Sequence[Sample],
    base: float,
    *,
    top: float | None = None,
    colour: str = "#1f4e79",
    label: str | None = None,
) -> None:
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


def _draw_events(
    ax: Axes, events: Sequence[Mapping[str, Any]], t0: float, label_them: bool
) -> None:
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


def _legend_handles() -> list[Any]:
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


def _tally(flow: Sequence[Sample]) -> str:
    counts = {o: sum(1 for s in flow if s.outcome is o) for o in Outcome}
    return (
        f"sent {len(flow)}, lost {counts[Outcome.LOST]}, late {counts[Outcome.LATE]}, "
        f"unreachable {counts[Outcome.UNREACHABLE]}"
    )


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
