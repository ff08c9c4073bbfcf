"""Drill settings and options resolved from the command line and the drill config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from erdrill.core import defaults
from erdrill.core.config import DrillConfig

__all__ = ["DrillOptions", "DrillSettings"]


@dataclass
class DrillSettings:
    """How one drill probes and how long it waits."""

    rate: int = defaults.PROBE_RATE  # probes/s per target and protocol
    late_ms: float = defaults.LATE_MS
    sustain_s: float = defaults.LAB_SUSTAIN_S  # replies must last this long to count as recovered
    abort_limit_s: float = defaults.ABORT_LIMIT_S  # restore at once after this long on the fault
    restore_timeout_s: float = defaults.RESTORE_TIMEOUT_S
    undo_timeout_s: float = defaults.UNDO_TIMEOUT_S  # then the watchdog's second path
    restore_at_window: bool = False  # a missed window restores at once, not at the abort limit
    plan: bool = False  # print every write (with what it changes), write nothing
    limits_ms: dict[str, float] = field(default_factory=dict)
    # long-lived TCP sessions per probe target, opened before the fault; None: the target's
    # default (the lab 2, Azure none: its workloads need an echo service of yours)
    sessions: int | None = None
    session_port: int | None = None  # the echo service's port; None: each target's TCP port
    session_interval_ms: float = defaults.SESSION_INTERVAL_MS
    session_timeout_s: float | None = None  # None: 3 s for the lab, 30 s for Azure

    def sessions_per_target(self, target: str) -> int:
        """How many sessions a drill against `target` ("lab", "azure") opens per probe target."""
        if self.sessions is not None:
            return self.sessions
        return defaults.LAB_SESSIONS if target == "lab" else 0

    def session_timeout_for(self, target: str) -> float:
        if self.session_timeout_s is not None:
            return self.session_timeout_s
        return defaults.LAB_SESSION_TIMEOUT_S if target == "lab" else defaults.SESSION_TIMEOUT_S


@dataclass
class DrillOptions:
    """What a drill run needs besides the target: probe settings, limits, the fault."""

    target: str = "lab"
    fault: str | None = None
    settings: DrillSettings = field(default_factory=DrillSettings)
    limit_overrides_ms: dict[str, float] = field(default_factory=dict)
    allow_disruption: bool = False
    plan: bool = False

    def limit_ms(self, transition: str, sentence_ms: float) -> float:
        """The limit a scenario states, unless the drill config sets this one explicitly."""
        return self.limit_overrides_ms.get(transition, sentence_ms)

    @classmethod
    def from_config(
        cls,
        cfg: DrillConfig,
        target: str | None = None,
        allow_disruption: bool = False,
        plan: bool = False,
    ) -> DrillOptions:
        d = cfg.drill
        explicit = d.model_fields_set
        kind = target or cfg.target.kind
        overrides = {
            t: getattr(d, f"{t}_limit_s") * 1000.0
            for t in ("failover", "failback")
            if f"{t}_limit_s" in explicit
        }
        sustain = (
            d.sustain_s if "sustain_s" in explicit or kind != "lab" else defaults.LAB_SUSTAIN_S
        )
        settings = DrillSettings(
            rate=d.probe_rate,
            late_ms=d.late_ms,
            sustain_s=sustain,
            abort_limit_s=d.abort_limit_s,
            undo_timeout_s=defaults.LAB_UNDO_TIMEOUT_S
            if kind == "lab"
            else defaults.UNDO_TIMEOUT_S,
            restore_at_window=d.restore_at_window,
            plan=plan,
            limits_ms=dict(overrides),
            **_session_settings(cfg),
        )
        fault = None
        if kind == "azure" and cfg.azure is not None:
            fault = cfg.azure.fault_method
        return cls(kind, fault, settings, overrides, allow_disruption, plan)


def _session_settings(cfg: DrillConfig) -> dict[str, Any]:
    """`[probe] sessions`, `session_port`, `session_timeout_s`, where the config sets them."""
    probe = cfg.probe
    names = ("sessions", "session_port", "session_timeout_s")
    return {n: getattr(probe, n) for n in names if getattr(probe, n, None) is not None}
