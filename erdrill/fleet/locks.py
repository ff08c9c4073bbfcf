"""One lock workflow per shared resource (peering location, CE router, VPN device,
gateway), across every campaign: first come, first served, granted and released by
signals. A drill takes its resources' locks in sorted order, so two drills never wait
for each other in a ring. A waiting drill is told who holds the resource."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

from erdrill.fleet.jobs import LockRequest, Queued

__all__ = ["IDLE", "ResourceLock"]

IDLE = timedelta(minutes=5)  # a lock nobody asked for this long ends (the next ask restarts it)


@workflow.defn(name="ResourceLock")
class ResourceLock:
    def __init__(self) -> None:
        self.holder: LockRequest | None = None
        self.queue: list[LockRequest] = []
        self.untold: list[LockRequest] = []  # queued, not yet told who holds the resource

    @workflow.signal
    def acquire(self, req: LockRequest) -> None:
        mine = self.holder is not None and self.holder.requester == req.requester
        if not mine and all(q.requester != req.requester for q in self.queue):
            self.queue.append(req)
            self.untold.append(req)

    @workflow.signal
    def release(self, requester: str) -> None:
        if self.holder is not None and self.holder.requester == requester:
            self.holder = None
        self.queue = [q for q in self.queue if q.requester != requester]
        self.untold = [q for q in self.untold if q.requester != requester]

    @workflow.query
    def holders(self) -> dict[str, object]:
        return {
            "holder": self.holder.label if self.holder else None,
            "waiting": [q.label for q in self.queue],
        }

    async def _signal(self, requester: str, name: str, arg: object) -> bool:
        """Signal a drill; False when it is gone (terminated: it holds nothing any more)."""
        try:
            await workflow.get_external_workflow_handle(requester).signal(name, arg)
        except FailureError:
            return False
        return True

    @workflow.run
    async def run(self) -> None:
        while True:
            if self.holder is None and self.queue:
                self.holder = self.queue.pop(0)
                self.untold = [q for q in self.untold if q is not self.holder]
                if not await self._signal(self.holder.requester, "granted", self.holder.resource):
                    self.holder = None
                continue
            if self.holder is not None and self.untold:
                told, self.untold = self.untold, []
                for q in told:
                    await self._signal(q.requester, "queued", Queued(q.resource, self.holder.label))
                continue
            if self.holder is None:
                try:
                    await workflow.wait_condition(lambda: bool(self.queue), timeout=IDLE)
                except TimeoutError:
                    return  # nobody holds or wants it; a new ask starts a fresh lock
            else:
                await workflow.wait_condition(lambda: self.holder is None or bool(self.untold))
