"""The path watcher: a failed read is an unknown path with its error, never a silent gap."""

from __future__ import annotations

from erdrill.core.paths import ON_EXPRESSROUTE, PathPair
from erdrill.drill.watch import UNKNOWN_PATHS, PathWatcher


class Flaky:
    """A target whose path reads start failing (a 403 on effective routes, say)."""

    path_poll_interval_s = 0.01

    def __init__(self) -> None:
        self.failing = False

    def paths(self) -> PathPair:
        if self.failing:
            raise PermissionError("403 AuthorizationFailed on effective routes")
        return ON_EXPRESSROUTE


def test_failed_reads_show_as_unknown_with_the_error() -> None:
    target = Flaky()
    watcher = PathWatcher(target).start()  # type: ignore[arg-type]
    try:
        target.failing = True
        assert watcher.wait_for(UNKNOWN_PATHS, 2.0) is not None
        assert watcher.errors >= 1
        assert "403 AuthorizationFailed" in watcher.read_errors()
        target.failing = False
        assert watcher.wait_for(ON_EXPRESSROUTE, 2.0) is not None
        assert [p for _, p in watcher.history] == [ON_EXPRESSROUTE, UNKNOWN_PATHS, ON_EXPRESSROUTE]
    finally:
        watcher.stop()
