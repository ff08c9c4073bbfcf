"""The drill's probes: the path watcher and the prober, from start to their samples."""

from __future__ import annotations

import contextlib

from erdrill.core.paths import PathPair
from erdrill.core.settings import DrillSettings
from erdrill.drill.watch import PathWatcher
from erdrill.probes.prober import Prober
from erdrill.probes.samples import Sample
from erdrill.targets.target import Target

__all__ = ["Probing"]


class Probing:
    """Watches the target's path and probes its workloads; keeps the samples once stopped."""

    def __init__(self, target: Target, settings: DrillSettings) -> None:
        self.target = target
        self.settings = settings
        self.watcher: PathWatcher | None = None
        self.prober: Prober | None = None
        self.samples: list[Sample] = []
        # reply TTL of each path, by probe address: which path a reply came back over
        self.signatures: dict[str, dict[str, int]] = {}

    def start(self) -> None:
        targets = self.target.probe_targets()
        self.signatures = {t.address: dict(t.ttl_signatures) for t in targets}
        self.watcher = PathWatcher(self.target).start()
        self.prober = Prober(
            targets,
            rate=self.settings.rate,
            namespace=self.target.probe_namespace(),
            late_ms=self.settings.late_ms,
            allowed_networks=self.target.allowed_networks(),
        )
        self.prober.start()

    @property
    def running(self) -> bool:
        return self.prober is not None

    @property
    def started(self) -> bool:
        """Probes ran (and may have stopped): there is something to stop or measure."""
        return self.prober is not None or bool(self.watcher and self.watcher.history)

    @property
    def current(self) -> PathPair | None:
        """The path both directions use now, as last read (None before probing)."""
        return self.watcher.current if self.watcher is not None else None

    def samples_since(self, since: float) -> list[Sample]:
        """The samples sent from `since` on (live while probing, kept once stopped)."""
        if self.prober is not None:
            return self.prober.samples_since(since)
        return [s for s in self.samples if s.sent >= since]

    def refresh(self) -> list[Sample]:
        """Every sample so far, kept (while probing; the kept ones once stopped)."""
        if self.prober is not None:
            self.samples = self.prober.samples_since(0.0)
        return self.samples

    def status(self) -> str:
        """The prober's progress line (rate, replies, current gap), "" when not probing."""
        return self.prober.snapshot().line() if self.prober is not None else ""

    def stop(self) -> None:
        """Stop the prober (its samples are kept) and the watcher (its history is kept)."""
        if self.prober is not None:
            with contextlib.suppress(Exception):
                self.samples = self.prober.stop()
            self.prober = None
        if self.watcher is not None:
            self.watcher.stop()
