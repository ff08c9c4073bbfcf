"""The drill's long-lived sessions: opened in the steady state, read after the restore.

`settings.sessions_per_target(target)` sessions go to each probe target (the lab: 2 per
workload, to its echoing TCP service; Azure: none unless `[probe] sessions` is set, to
`session_port`). Each result says in which phase its trouble began: the steady state
(it never opened, or broke before the fault), the failover (fault to restore) or the
failback.
"""

from __future__ import annotations

from erdrill.core.record import SessionEnd, SessionResult
from erdrill.core.settings import DrillSettings
from erdrill.probes.sessions import SessionProbe, SessionTarget
from erdrill.targets.target import Target

__all__ = ["Sessions", "phase_of"]


def phase_of(result: SessionResult, fault_at: float | None, restore_at: float | None) -> str | None:
    """Where a session's trouble began: steady-state, failover or failback (None: survived)."""
    if result.end is SessionEnd.SURVIVED:
        return None
    if result.end is SessionEnd.NOT_OPENED:
        return "steady-state"
    began = result.broken_at
    if result.stall_from is not None:  # the last echo before it stopped
        began = result.stall_from + result.interval_ms / 1000.0
    if began is None or fault_at is None or began < fault_at:
        return "steady-state"
    if restore_at is None or began < restore_at:
        return "failover"
    return "failback"


class Sessions:
    """The drill's sessions to every probe target, from open to their results."""

    def __init__(self, target: Target, settings: DrillSettings) -> None:
        self.target = target
        self.settings = settings
        self.probe: SessionProbe | None = None

    def open(self) -> None:
        """Open the sessions (before the fault); none if the settings say so."""
        per_target = self.settings.sessions_per_target(self.target.name)
        if per_target < 1:
            return
        port = self.settings.session_port
        targets = [
            SessionTarget(t.address, port or t.tcp_port, t.name or t.address)
            for t in self.target.probe_targets()
        ]
        self.probe = SessionProbe(
            targets,
            per_target,
            namespace=self.target.probe_namespace(),
            interval_ms=self.settings.session_interval_ms,
            timeout_s=self.settings.session_timeout_for(self.target.name),
            allowed_networks=self.target.allowed_networks(),
        ).start()

    def close(self, fault: float | None, restore: float | None) -> list[SessionResult] | None:
        """Close the sessions; each result with the phase its trouble began (None: none open)."""
        probe, self.probe = self.probe, None
        if probe is None:
            return None
        return [r.model_copy(update={"phase": phase_of(r, fault, restore)}) for r in probe.stop()]
