"""The ARM connection: one NetworkManagementClient, every call retried, bounded and recorded.

Retries: the SDK's own RetryPolicy would retry 429/5xx up to 10 times and sleep whatever
Retry-After the server sends, unbounded. It is switched off (retry_total=0) and one
explicit layer replaces it: tenacity retries 429, 500, 502, 503, 504 and connection errors
up to `retry_attempts` times, sleeping the server's Retry-After when given (a Retry-After
above `retry_after_cap_s` fails at once) or an exponential backoff (0.5 s doubling, at most
8 s). A write refused with 409 AnotherOperationInProgress (an earlier write on the
resource, e.g. one that timed out here, still runs) is asked again every
`poll_interval_s` until it is accepted, within `operation_timeout_s`. A long-running
operation is retried whole (re-issued) if its polling fails; one that ends Failed is not
retried and fails with ARM's error code and message. Polling follows the server's
Retry-After (azure-core's ARM polling), `poll_interval_s` when none is sent.

Bounds: every long-running operation waits at most `operation_timeout_s`, then fails with
"operation X did not complete within N s". Errors are one-line TargetErrors
(targets.azure.errors).

Plan mode: every call is recorded as an `ApiStep` and printed; reads are made, and no
write is sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from azure.core.polling import LROPoller
from tenacity import RetryCallState, Retrying, retry_if_exception

from erdrill.core.config import AzureConfig
from erdrill.core.errors import ErdrillError, TargetError
from erdrill.targets.azure.cloud import credential_options, scope_for
from erdrill.targets.azure.errors import conflicting, explain, retry_after, retryable

__all__ = ["ApiStep", "Arm", "Connection", "raw_json"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Connection:
    """Where ARM is and how to sign in: `credential` None means DefaultAzureCredential."""

    endpoint: str
    ca_bundle: str | None = None
    credential: Any = None


@dataclass(frozen=True, slots=True)
class ApiStep:
    """One step of a fault or check: an API call (read or write) or an operator action."""

    at: float
    action: str
    write: bool
    detail: str
    performed: bool  # False in plan mode for writes and commands

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def raw_json(pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
    """`cls=` hook: hand back the response body as parsed JSON, not SDK models."""
    return pipeline_response.http_response.json()


class Arm:
    """Calls to ARM for one `[azure]` config: the client, retries, bounds, the step record."""

    def __init__(
        self,
        cfg: AzureConfig,
        connection: Connection,
        *,
        plan: bool = False,
        out: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg = cfg
        self.connection = connection
        self.plan = plan
        self.out = out
        self.sleep = sleep
        self.steps: list[ApiStep] = []
        self.events: list[dict[str, Any]] = []  # faults and restores, as they happened
        self._lock = threading.Lock()
        self._credential = connection.credential
        self._client: Any = None

    @property
    def endpoint(self) -> str:
        return self.connection.endpoint

    @property
    def client(self) -> Any:
        """The NetworkManagementClient, created on first use."""
        with self._lock:
            if self._client is None:
                from azure.mgmt.network import NetworkManagementClient

                cred = self._credential
                if cred is None:
                    from azure.identity import DefaultAzureCredential

                    cred = self._credential = DefaultAzureCredential(**credential_options(self.cfg))
                scope = scope_for(self.endpoint, self.cfg)
                kwargs: dict[str, Any] = {}
                if self.connection.ca_bundle:
                    kwargs["connection_verify"] = self.connection.ca_bundle
                self._client = NetworkManagementClient(
                    cred,
                    self.cfg.subscription_id,
                    base_url=self.endpoint,
                    credential_scopes=[scope],
                    retry_total=0,  # one explicit retry layer: tenacity, in `call`
                    polling_interval=self.cfg.poll_interval_s,
                    connection_timeout=10,
                    read_timeout=60,
                    **kwargs,
                )
            return self._client

    def record(self, action: str, write: bool, detail: str, performed: bool) -> None:
        """Keep one step (and print it in plan mode)."""
        step = ApiStep(time.time(), action, write, detail, performed)
        with self._lock:
            self.steps.append(step)
        if self.plan:
            verb = "would call" if not performed else "calls"
            self.out(f"plan: {verb} {action}: {detail}")

    def event(self, fault: str, what: str) -> None:
        """Note that a fault was injected ("fault") or undone ("restore")."""
        with self._lock:
            self.events.append(
                {"at": time.time(), "event": what, "fault": fault, "plan": self.plan}
            )

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = retry_after(exc)
        if after is not None:
            return after
        if conflicting(exc):  # an earlier write still runs: ask again at the poll interval
            return self.cfg.poll_interval_s
        return float(min(8.0, 0.5 * 2 ** (retry_state.attempt_number - 1)))

    def _stop(self, retry_state: RetryCallState) -> bool:
        """Past operation_timeout_s, always; else after retry_attempts, unless a write still
        runs (409 AnotherOperationInProgress), which is waited out."""
        if (retry_state.seconds_since_start or 0.0) >= self.cfg.operation_timeout_s:
            return True
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        return not conflicting(exc) and retry_state.attempt_number >= self.cfg.retry_attempts

    def _retry(self, exc: BaseException) -> bool:
        return retryable(exc, self.cfg.retry_after_cap_s) or conflicting(exc)

    def call(
        self, action: str, detail: str, fn: Callable[[], T], *, write: bool = False
    ) -> T | None:
        """Run one API call with retries and clear errors; a write in plan mode is skipped."""
        if write and self.plan:
            self.record(action, True, detail, performed=False)
            return None
        self.record(action, write, detail, performed=True)
        retrying = Retrying(
            retry=retry_if_exception(self._retry),
            stop=self._stop,
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except ErdrillError:
            raise
        except Exception as exc:
            raise explain(action, detail, exc, self.cfg, self.endpoint) from None

    def lro(self, action: str, poller: LROPoller[Any]) -> Any:
        """The result of a long-running operation, waited for at most operation_timeout_s."""
        limit = self.cfg.operation_timeout_s
        poller.wait(timeout=limit)
        if not poller.done():
            raise TargetError(f"azure: operation {action} did not complete within {limit:g} s")
        return poller.result()
