"""What the target's own log says happened, and whether the measured outage agrees with it."""

from __future__ import annotations

from typing import Any

__all__ = ["agreement", "summarize_ground_truth"]


def summarize_ground_truth(
    log: list[dict[str, Any]], fault_at: float | None, restore_at: float | None
) -> dict[str, Any]:
    """First route change to each path on each side after the fault and after the restore."""
    routes = [e for e in log if e.get("kind") == "route"]

    def first(after: float | None, until: float | None, path: str) -> dict[str, float]:
        out: dict[str, float] = {}
        if after is None:
            return out
        for e in routes:
            if (
                e["wall"] >= after
                and (until is None or e["wall"] < until)
                and e.get("path") == path
                and e.get("action") == "add"
            ):
                out.setdefault(str(e.get("node")), (e["wall"] - after) * 1000.0)
        return out

    fault_event = next((e for e in log if e.get("kind") == "fault"), None)
    fault_log = fault_event["wall"] if fault_event else None
    injection_ms = (
        (fault_event.get("done_wall", fault_event["wall"]) - fault_event["wall"]) * 1000.0
        if fault_event
        else None
    )
    restore_log = next((e["wall"] for e in log if e.get("kind") == "restore"), None)
    fo = first(fault_log or fault_at, restore_log or restore_at, "vpn")
    fb = first(restore_log or restore_at, None, "expressroute")
    return {
        "source": "lab event log",
        "fault_at": fault_log,
        "fault_injection_ms": injection_ms,
        "restore_at": restore_log,
        "failover_route_change_ms": fo,
        "failover_converged_ms": max(fo.values()) if fo else None,
        "failback_route_change_ms": fb,
        "failback_converged_ms": max(fb.values()) if fb else None,
        "events": log,
    }


def agreement(truth: dict[str, Any], outage_ms: float, sampling_interval_ms: float) -> str | None:
    """Why a measured failover outage disagrees with the log (None if it agrees).

    Agreement: the outage lies between the first and the last route change the log
    shows after the fault (the route-install spread), give or take two sampling
    intervals; with no route change, the outage is at most two sampling intervals.
    The tolerance used is written into `truth["tolerance_ms"]`.
    """
    slack = 2 * sampling_interval_ms
    changes = list(truth["failover_route_change_ms"].values())
    lo, hi = (min(changes), max(changes)) if changes else (0.0, 0.0)
    # the fault took `injection_ms` to apply: the outage may start that much later
    lo -= truth.get("fault_injection_ms") or 0.0
    truth["tolerance_ms"] = {"low": lo - slack, "high": hi + slack}
    if lo - slack <= outage_ms <= hi + slack:
        return None
    return (
        f"measured failover outage {outage_ms:.0f} ms disagrees with the lab's event "
        f"log: the fault and its route changes bound it to {lo:.0f}-{hi:.0f} ms (allowed "
        f"{lo - slack:.0f}-{hi + slack:.0f} ms with two sampling intervals)"
    )
