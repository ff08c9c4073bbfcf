"""The face's long-running operations, timed as the drill config's `[azure.face]` says.

A read operation is InProgress for its read delay and its result is computed when it
finishes (the network as it is then). A write is InProgress for `write_s`; the network
changes `change_delay_s()` after it was accepted (the backend call runs then, on a
timer); while it runs, another write on the same resource gets 409
AnotherOperationInProgress. A write may also find an unseen operation running
(`busy_rate`), or end Failed (`fail_rate`, `fail_operations`): the network is not changed.
Rates are drawn per operation and call number from `seed`, so a run is reproducible.
With the default profile everything answers at once, as before: one InProgress poll,
then the result.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from erdrill.armface.backend import Backend, Call, Reply, error_reply
from erdrill.core.face_profile import FaceProfile

__all__ = ["Operation", "Operations", "resource_of"]


def resource_of(call: Call) -> str:
    """The resource a call acts on, for locking: the circuit or the gateway."""
    p = call.params
    for key in ("circuitName", "virtualNetworkGatewayName", "networkInterfaceName"):
        if p.get(key):
            return f"{key}:{p[key].lower()}"
    return "face"


@dataclass
class Operation:
    """One long-running operation the face answers for."""

    op_id: str
    operation: str
    location: str
    done_at: float  # monotonic; the status is InProgress until then
    polls_left: int | None  # InProgress answers still owed (None: never done)
    reply: Reply | None = None  # the result, once known
    compute: Callable[[], Reply] | None = None  # computes the result when it finishes
    failed: Reply | None = None  # the error the operation ends Failed with
    applied: threading.Event = field(default_factory=threading.Event)

    def done(self, now: float) -> bool:
        return self.polls_left is not None and self.polls_left <= 0 and now >= self.done_at

    def result(self) -> Reply:
        """The final reply (computed on first ask, once finished)."""
        if self.reply is None and self.compute is not None:
            self.reply = self.compute()
        return self.reply if self.reply is not None else Reply(200, None)

    def status(self) -> tuple[str, Reply | None]:
        """("Succeeded" | "Failed", the error) once done."""
        if self.failed is not None:
            return "Failed", self.failed
        result = self.result()
        if result.status >= 300:
            return "Failed", result
        return "Succeeded", None


class Operations:
    """The operation table and the profile's timing, locks and random failures."""

    def __init__(self, backend: Backend, profile: FaceProfile) -> None:
        self.backend = backend
        self.profile = profile
        self._ops: dict[str, Operation] = {}
        self._busy_until: dict[str, float] = {}  # resource -> monotonic end of a write
        self._calls: dict[tuple[str, str], int] = {}  # (draw kind, operation) -> calls so far
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    # --- reproducible draws ---------------------------------------------------------
    def draw(self, kind: str, operation: str, rate: float) -> float | None:
        """A number in [0, 1) below `rate` (the event happens), else None."""
        if rate <= 0:
            return None
        with self._lock:
            n = self._calls[(kind, operation)] = self._calls.get((kind, operation), 0) + 1
        x = random.Random(f"{self.profile.seed}:{kind}:{operation}:{n}").random()
        return x if x < rate else None

    def injected_error(self, operation: str) -> Reply | None:
        """An occasional 429 or 5xx for a request (never an operation poll)."""
        p = self.profile
        if self.draw("throttle", operation, p.throttle_rate) is not None:
            return error_reply(
                429,
                "TooManyRequests",
                "The request was throttled (the lab face's throttle_rate).",
                **{"Retry-After": str(p.throttle_retry_after_s)},
            )
        x = self.draw("error", operation, p.error_rate)
        if x is not None:
            status, code = (
                (500, "InternalServerError")
                if x < p.error_rate / 2
                else (
                    503,
                    "ServiceUnavailable",
                )
            )
            return error_reply(status, code, "The server failed (the lab face's error_rate).")
        return None

    # --- writes ---------------------------------------------------------------------
    def running_write(self, resource: str) -> bool:
        with self._lock:
            return time.monotonic() < self._busy_until.get(resource, 0.0)

    def refuse_write(self, call: Call, status_url: str) -> Reply | None:
        """409 if a write runs on the resource (or an unseen one starts now), else None."""
        p, key = self.profile, resource_of(call)
        busy = p.conflicts and self.running_write(key)
        if not busy and self.draw("busy", call.operation, p.busy_rate) is not None:
            with self._lock:
                self._busy_until[key] = time.monotonic() + p.busy_s
            busy = True
        if not busy:
            return None
        return error_reply(
            409,
            "AnotherOperationInProgress",
            "Another operation on this or dependent resource is in progress. To retrieve "
            f"status of the operation use uri: {status_url}",
        )

    def start_write(self, op_id: str, call: Call, location: str) -> Operation:
        """Accept a write: it runs write_s, the network changes partway, it may end Failed."""
        p, now = self.profile, time.monotonic()
        op = Operation(op_id, call.operation, location, now + p.write_s, 1)
        if call.operation in p.fail_operations or (
            self.draw("fail", call.operation, p.fail_rate) is not None
        ):
            op.failed = error_reply(
                500,
                "InternalServerError",
                f"The operation {call.operation} failed (the lab face's fail_rate or "
                "fail_operations); nothing was changed.",
            )
            op.applied.set()
        with self._lock:
            self._ops[op_id] = op
            key = resource_of(call)
            self._busy_until[key] = max(self._busy_until.get(key, 0.0), op.done_at)
        if op.failed is None:
            delay = p.change_delay_s()
            if delay <= 0:
                self._apply(op, call)
            else:
                timer = threading.Timer(delay, self._apply, (op, call))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
        return op

    def _apply(self, op: Operation, call: Call) -> None:
        try:
            op.reply = self.backend.answer(call)
        except Exception as exc:  # a backend bug must still end the operation
            op.reply = error_reply(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
        op.applied.set()

    # --- reads ----------------------------------------------------------------------
    def start_read(self, op_id: str, call: Call, first: Reply, location: str) -> Operation:
        """A read answered as an operation; with a read delay, computed when it finishes."""
        delay = self.profile.read_delay_s(call.operation)
        op = Operation(op_id, call.operation, location, time.monotonic() + delay, first.polls)
        op.applied.set()
        if delay > 0:
            fresh = getattr(self.backend, "inner", self.backend)  # scripted replies: once
            op.compute = lambda: fresh.answer(call)
        else:
            op.reply = first
        with self._lock:
            self._ops[op_id] = op
        return op

    def get(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._ops.get(op_id)

    def poll(self, op: Operation) -> bool:
        """One status poll: whether it is done (counts an InProgress answer otherwise)."""
        now = time.monotonic()
        with self._lock:
            if op.done(now) and op.applied.is_set():
                return True
            if op.polls_left is not None and op.polls_left > 0:
                op.polls_left -= 1
            return False

    def finished(self, op: Operation) -> bool:
        """Whether it is done (without counting a poll)."""
        with self._lock:
            return op.done(time.monotonic()) and op.applied.is_set()

    def forget(self, op: Operation) -> None:
        """Drop an operation that was answered at once (an error), releasing its resource."""
        with self._lock:
            self._ops.pop(op.op_id, None)
            for key, until in list(self._busy_until.items()):
                if until == op.done_at:
                    del self._busy_until[key]

    def close(self) -> None:
        """Cancel changes not yet made (the face stops)."""
        for timer in self._timers:
            timer.cancel()
