"""The drill timeline: one row per probe flow, RTTs and losses over time, path in use behind."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from core.paths import PathKind
from probes.samples import Outcome, Sample

__all__ = ["EVENT_STYLES", "PATH_COLOURS", "plot_timeline"]

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


def plot_timeline(
    samples: Sequence[Sample],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    out: Path,
    *,
    title: str = "Drill timeline",
) -> Path:
    """Draw the drill as a PNG at `out` and return `out`.

    One row per target and protocol: replies as RTT points, losses, late replies and
    unreachables marked along the bottom of the row; fault/restore/route events
    (``{"wall": s, "kind": ..., "detail": ...}``) as vertical lines; `path_spans`
    (``(start, end, path)`` in wall-clock seconds) shaded behind every row.
    The time axis is seconds since the first sample or event.
    """
    flows: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        flows[s.flow].append(s)
    names = sorted(flows) or ["(no samples)"]
    instants = [s.sent for s in samples] + [float(e["wall"]) for e in events]
    instants += [t for span in path_spans for t in span[:2]]
    t0 = min(instants) if instants else 0.0

    fig = Figure(figsize=(11, 1.0 + 1.9 * len(names)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg explicitly: no display, no global backend switch
    axes: list[Axes] = list(fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0])
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
    axes[-1].set_xlabel("seconds since start (t0 = " + _utc(t0) + ")", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.legend(handles=_legend_handles(), loc="outside lower center", ncol=5, fontsize=8)

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", metadata={"Software": None})
    return out


def _draw_spans(ax: Axes, path_spans: Sequence[tuple[float, float, str]], t0: float) -> None:
    for start, end, path in path_spans:
        colour = PATH_COLOURS.get(str(path), PATH_COLOURS[PathKind.UNKNOWN.value])
        ax.axvspan(start - t0, end - t0, color=colour, linewidth=0, zorder=0)


def _draw_flow(ax: Axes, flow: Sequence[Sample], base: float) -> None:
    replies: list[tuple[float, float]] = [
        (s.sent - base, rtt)
        for s in flow
        if s.outcome is Outcome.REPLY and (rtt := s.rtt_ms) is not None
    ]
    if replies:
        ax.scatter(
            [x for x, _ in replies],
            [y for _, y in replies],
            s=6,
            color="#1f4e79",
            zorder=3,
        )
        top = max(max(y for _, y in replies), 1.0)
    else:
        top = 1.0
    ax.set_ylim(bottom=-0.12 * top, top=top * 1.15)
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
    return handles


def _tally(flow: Sequence[Sample]) -> str:
    counts = {o: sum(1 for s in flow if s.outcome is o) for o in Outcome}
    return (
        f"sent {len(flow)}, lost {counts[Outcome.LOST]}, late {counts[Outcome.LATE]}, "
        f"unreachable {counts[Outcome.UNREACHABLE]}"
    )


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
