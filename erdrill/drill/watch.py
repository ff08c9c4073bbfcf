"""The path watcher: polls the target's path in each direction and keeps every transition."""

from __future__ import annotations

import signal
import threading
import time

from erdrill.core.paths import PathKind, PathPair
from erdrill.drill.signals import DRILL_SIGNALS
from erdrill.targets.target import Target

__all__ = ["UNKNOWN_PATHS", "PathWatcher"]

UNKNOWN_PATHS = PathPair(PathKind.UNKNOWN, PathKind.UNKNOWN)


class PathWatcher:
    """Polls the target's path in each direction and keeps every transition, timestamped."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.history: list[tuple[float, PathPair]] = []
        self.errors = 0  # polls that failed: the path reads as unknown, the error is kept
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="path-watcher", daemon=True)

    def start(self) -> PathWatcher:
        self._record(self.target.paths())
        self._thread.start()
        return self

    def _record(self, paths: PathPair) -> None:
        with self._changed:
            if not self.history or self.history[-1][1] != paths:
                self.history.append((time.time(), paths))
                self._changed.notify_all()

    def _run(self) -> None:
        # Leave SIGINT, SIGTERM and SIGHUP to the main thread. This thread forks all the time
        # (pyroute2 forks a helper for every netlink socket in a namespace), and the kernel
        # then sometimes hands it a signal sent to the drill: Python only notes it, and the
        # main thread, asleep or waiting, acts on it only when its wait ends (a drill that
        # "hangs"). Blocked here, the kernel delivers it to the main thread and wakes it.
        signal.pthread_sigmask(signal.SIG_BLOCK, DRILL_SIGNALS)
        while not self._stop.wait(self.target.path_poll_interval_s):
            try:
                self._record(self.target.paths())
            except Exception as exc:  # a failed read is an unknown path, never a crash
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._record(UNKNOWN_PATHS)

    def read_errors(self) -> str:
        """` (N path reads failed, the last: ...)` when reads failed, else ""."""
        if not self.errors:
            return ""
        return f" ({self.errors} path reads failed, the last: {self.last_error})"

    @property
    def current(self) -> PathPair:
        return self.history[-1][1]

    def wait_for(self, expected: PathPair, timeout: float) -> float | None:
        """Wall time the expected paths were first seen (now or later), or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.history and self.history[-1][1] == expected:
                    return self.history[-1][0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.5))

    def spans(self, until: float) -> list[tuple[float, float, str]]:
        """(start, end, path) spans for the timeline; mixed directions show as 'asymmetric'."""
        out = []
        for i, (t, p) in enumerate(self.history):
            end = self.history[i + 1][0] if i + 1 < len(self.history) else until
            label = p.forward.value if p.symmetric else "asymmetric"
            out.append((t, end, label))
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
