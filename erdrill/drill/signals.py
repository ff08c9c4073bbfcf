"""Signals during a drill: SIGINT, SIGTERM and SIGHUP end it alike, never halfway through an undo.

Forked helpers (pyroute2's namespace helper, the prober) inherit the handlers; in a child
a signal must end the child quietly, never unwind the drill's stack a second time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["DRILL_SIGNALS", "forked_child_exits", "signal_name", "signals_deferred"]

DRILL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Handler = Callable[[int, FrameType | None], None]


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def forked_child_exits(handler: Handler) -> Handler:
    """Wrap a handler so that in a forked child (another pid) the signal just ends the child."""
    pid = os.getpid()

    def guarded(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != pid:
            os._exit(128 + signum)
        handler(signum, frame)

    return guarded


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP while the network is put back; yield those that came.

    An undo cut in half by a second Ctrl-C is how a drill leaves a network broken, so
    the caller acts on the held signals once the undo is complete. Outside the main
    thread (where handlers cannot be set) nothing is held.
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        pending.append(signum)

    guarded = forked_child_exits(hold)
    previous = {s: signal.signal(s, guarded) for s in DRILL_SIGNALS}
    try:
        yield pending
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
