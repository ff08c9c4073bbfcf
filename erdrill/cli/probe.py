"""`erdrill probe`: probe targets at a fixed rate, print the measurements, write them as JSON."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from erdrill.core.errors import ConfigError
from erdrill.core.paths import PathKind
from erdrill.lab.lab import Lab
from erdrill.lab.signatures import FORWARD_HOPS, REPLY_TTLS
from erdrill.probes.netns import check_targets_allowed
from erdrill.probes.pathid import HopSignature, classify_forward_path, return_path_of, traceroute
from erdrill.probes.prober import DEFAULT_LATE_MS, DEFAULT_RATE, Prober
from erdrill.probes.samples import Outcome, Sample
from erdrill.probes.target import ProbeTarget

__all__ = [
    "LAB_HOP_SIGNATURES",
    "LAB_TTL_SIGNATURES",
    "measurements",
    "probe",
    "wait_with_progress",
]

LAB_TTL_SIGNATURES = dict(REPLY_TTLS)
LAB_HOP_SIGNATURES = {path: HopSignature(hops=n) for path, n in FORWARD_HOPS.items()}


def _signature(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in values:
        path, _, ttl = item.partition("=")
        if path not in (PathKind.EXPRESSROUTE.value, PathKind.VPN.value) or not ttl.isdigit():
            raise ConfigError(
                "command line",
                "--ttl-signature",
                f"{item!r} is not PATH=TTL",
                "give expressroute=60 or vpn=61",
            )
        out[path] = int(ttl)
    return out


def _forward_paths(
    targets: Sequence[str], namespace: str | None, signatures: dict[str, HopSignature]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for address in targets:
        hops = traceroute(address, namespace=namespace)
        out[address] = {"hops": hops, "path": classify_forward_path(hops, signatures).value}
    return out


def wait_with_progress(prober: Prober, seconds: float | None, show: bool | None = None) -> None:
    """Wait `seconds` (None: until Ctrl-C) showing one live line, if stderr is a TTY or `show`."""
    end = math.inf if seconds is None else time.monotonic() + seconds
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        while time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        return
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(stderr=True)
    try:
        with Live(Text(prober.snapshot().line()), console=console, refresh_per_second=4) as live:
            while time.monotonic() < end:
                time.sleep(min(0.25, max(0.0, end - time.monotonic())))
                live.update(Text(prober.snapshot().line()))
    finally:
        if not console.is_terminal:
            console.line()  # a terminal gets its newline from Live; a file or pipe does not


def measurements(
    samples: Sequence[Sample], targets: Sequence[ProbeTarget], rate_per_flow: float
) -> dict[str, Any]:
    """Totals, convergence figures over the whole run, and the path at start and end."""
    sent = len(samples)
    lost = sum(1 for s in samples if s.outcome is not Outcome.REPLY)
    figures: dict[str, Any] = {
        "sent": sent,
        "lost": lost,
        "late": sum(1 for s in samples if s.outcome is Outcome.LATE),
        "unreachable": sum(1 for s in samples if s.outcome is Outcome.UNREACHABLE),
        "duplicates": sum(s.duplicates for s in samples),
        "sampling_interval_ms": 1000.0 / rate_per_flow,
        "precise": all(s.precise for s in samples),
    }
    try:
        from erdrill.probes.measure import measure_transition
    except ImportError:  # the measurement module is not there yet: loss-derived only
        figures["loss_derived_ms"] = _loss_derived_ms(samples, rate_per_flow)
        figures["outage_ms"] = None
    else:
        if samples:
            start = min(s.sent for s in samples)
            conv = measure_transition(samples, start, rate_per_flow=rate_per_flow)
            figures.update(conv.as_figures())
            figures["sent"], figures["lost"] = sent, lost
        else:
            figures["loss_derived_ms"], figures["outage_ms"] = 0.0, 0.0
    figures["paths"] = {
        t.address: {
            "start": return_path_of(samples, t, "start").value,
            "end": return_path_of(samples, t, "end").value,
        }
        for t in targets
    }
    return figures


def _loss_derived_ms(samples: Sequence[Sample], rate_per_flow: float) -> float:
    by_flow: dict[str, int] = {}
    for s in samples:
        if s.outcome is not Outcome.REPLY:
            by_flow[s.flow] = by_flow.get(s.flow, 0) + 1
    return max(by_flow.values(), default=0) * 1000.0 / rate_per_flow


def _print(figures: dict[str, Any]) -> None:
    shown = ["sent", "lost", "late", "unreachable", "duplicates", "outage_ms"]
    shown += ["loss_derived_ms", "sampling_interval_ms"]
    for key in shown:
        value = figures.get(key)
        if isinstance(value, float):
            value = f"{value:.1f}"
        click.echo(f"{key:>22}: {value}")
    for address, path in figures["paths"].items():
        click.echo(f"{'return path ' + address:>22}: start {path['start']}, end {path['end']}")
    forward = figures.get("forward", {})
    for address in forward.get("start", {}):
        start, end = forward["start"][address], forward["end"][address]
        click.echo(
            f"{'forward path ' + address:>22}: start {start['path']} ({len(start['hops'])} hops), "
            f"end {end['path']} ({len(end['hops'])} hops)"
        )
    if not figures["precise"]:
        click.echo(f"{'precision':>22}: connect() fallback, user-space timestamps")


@click.command("probe")
@click.argument("targets", nargs=-1, required=True)
@click.option("--tcp-port", default=443, show_default=True, help="TCP port to send SYNs to.")
@click.option(
    "--rate", default=DEFAULT_RATE, show_default=True, help="Probes/s per target and protocol."
)
@click.option(
    "--duration", type=float, default=None, help="Seconds to probe (default: until Ctrl-C)."
)
@click.option("--lab-node", default=None, help="Probe from inside this lab node's namespace.")
@click.option(
    "--late-ms", default=DEFAULT_LATE_MS, show_default=True, help="Later replies count as lost."
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=None, help="Live line (default: if a TTY).")
@click.option(
    "--ttl-signature", multiple=True, help="PATH=TTL: reply TTL over a path (lab: 60/61)."
)
@click.option(
    "--traceroute", "trace", is_flag=True, help="Also trace the forward path at start and end."
)
def probe(
    targets: tuple[str, ...],
    tcp_port: int,
    rate: float,
    duration: float | None,
    lab_node: str | None,
    late_ms: float,
    json_path: Path | None,
    progress: bool | None,
    ttl_signature: tuple[str, ...],
    trace: bool,
) -> None:
    """Probe TARGET... with ICMP echo and TCP SYN at a fixed rate and report the loss."""
    namespace = Lab.current().namespace(lab_node) if lab_node else None
    signatures = _signature(ttl_signature) or (LAB_TTL_SIGNATURES if lab_node else {})
    hop_signatures = LAB_HOP_SIGNATURES if lab_node else {}
    if lab_node:
        check_targets_allowed(targets, [str(n) for n in Lab.current().topology.networks])
    probe_targets = [ProbeTarget(a, tcp_port=tcp_port, ttl_signatures=signatures) for a in targets]
    prober = Prober(probe_targets, rate=rate, namespace=namespace, late_ms=late_ms)
    forward = {"start": _forward_paths(targets, namespace, hop_signatures)} if trace else {}
    prober.start()
    try:
        wait_with_progress(prober, duration, progress)
    except KeyboardInterrupt:
        click.echo("interrupted: stopping the probes", err=True)
    finally:
        samples = prober.stop()
    figures = measurements(samples, probe_targets, rate)
    if trace:
        forward["end"] = _forward_paths(targets, namespace, hop_signatures)
        figures["forward"] = forward
    _print(figures)
    if json_path is not None:
        doc = {
            "targets": list(targets),
            "namespace": namespace,
            "rate_per_flow": rate,
            "late_ms": late_ms,
            "metrics": figures,
            "samples": [s.to_dict() for s in samples],
        }
        json_path.write_text(json.dumps(doc, indent=1))
        click.echo(f"{'written':>22}: {json_path}")
