"""Drill options resolved from the command line and the drill config."""

from __future__ import annotations

from dataclasses import dataclass, field

from erdrill.config import DrillConfig
from erdrill.drill import DrillSettings

LAB_SUSTAIN_S = 2.0  # the lab converges in seconds; Azure's default sustain is the config's


@dataclass
class DrillOptions:
    """What a drill run needs besides the target: probe settings, limits, the fault."""

    target: str = "lab"
    fault: str | None = None
    settings: DrillSettings = field(default_factory=DrillSettings)
    limit_overrides_ms: dict[str, float] = field(default_factory=dict)
    allow_disruption: bool = False

    def limit_ms(self, transition: str, sentence_ms: float) -> float:
        """The limit a scenario states, unless the drill config sets this one explicitly."""
        return self.limit_overrides_ms.get(transition, sentence_ms)

    @classmethod
    def from_config(
        cls, cfg: DrillConfig, target: str | None = None, allow_disruption: bool = False
    ) -> DrillOptions:
        d = cfg.drill
        explicit = d.model_fields_set
        kind = target or cfg.target.kind
        overrides = {
            t: getattr(d, f"{t}_limit_s") * 1000.0
            for t in ("failover", "failback")
            if f"{t}_limit_s" in explicit
        }
        sustain = d.sustain_s if "sustain_s" in explicit or kind != "lab" else LAB_SUSTAIN_S
        settings = DrillSettings(
            rate=d.probe_rate,
            late_ms=d.late_ms,
            sustain_s=sustain,
            abort_limit_s=d.abort_limit_s,
            limits_ms=dict(overrides),
        )
        fault = None
        if kind == "azure" and cfg.azure is not None:
            fault = cfg.azure.fault_method
        return cls(kind, fault, settings, overrides, allow_disruption)
