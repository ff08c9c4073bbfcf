"""The face's HTTPS server: ARM paths in, Backend calls, ARM responses out.

Long-running operations behave as ARM's do: the first answer is 202 (POST) or 201 (PUT)
with Azure-AsyncOperation, Location and Retry-After headers; the Azure-AsyncOperation URL
answers {"status": "InProgress"} `Reply.polls` times, then {"status": "Succeeded"}; the
Location URL answers 202 until then and the result after.

Every request needs `Authorization: Bearer <token>` with the token written to
`<run_dir>/armface/token`; `<run_dir>/armface/face.json` tells clients where the face is.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from armface.backend import LRO_OPERATIONS, WRITE_OPERATIONS, Backend, Call, Reply, error_reply
from armface.certs import make_certificates
from core.errors import TargetError

__all__ = ["FaceInfo", "LoggedRequest", "RequestLog", "Server", "discover", "serve"]

_PREFIX = (
    r"^/subscriptions/(?P<subscriptionId>[^/]+)/resourceGroups/(?P<resourceGroupName>[^/]+)"
    r"/providers/Microsoft\.Network/"
)
_SEG = r"(?P<{}>[^/]+)"
ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    (
        method,
        op,
        re.compile(_PREFIX + pattern.format(*[_SEG.format(n) for n in names]) + "$", re.IGNORECASE),
    )
    for method, op, pattern, names in [
        (
            "POST",
            "NetworkInterfaces_GetEffectiveRouteTable",
            "networkInterfaces/{}/effectiveRouteTable",
            ["networkInterfaceName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_GetLearnedRoutes",
            "virtualNetworkGateways/{}/getLearnedRoutes",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_GetBgpPeerStatus",
            "virtualNetworkGateways/{}/getBgpPeerStatus",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation",
            "virtualNetworkGateways/{}/startSiteFailoverTest",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation",
            "virtualNetworkGateways/{}/stopSiteFailoverTest",
            ["virtualNetworkGatewayName"],
        ),
        (
            "GET",
            "VirtualNetworkGatewayConnections_Get",
            "connections/{}",
            ["virtualNetworkGatewayConnectionName"],
        ),
        (
            "GET",
            "ExpressRouteCircuitPeerings_Get",
            "expressRouteCircuits/{}/peerings/{}",
            ["circuitName", "peeringName"],
        ),
        (
            "PUT",
            "ExpressRouteCircuitPeerings_CreateOrUpdate",
            "expressRouteCircuits/{}/peerings/{}",
            ["circuitName", "peeringName"],
        ),
        (
            "POST",
            "NetworkWatchers_GetNextHop",
            "networkWatchers/{}/nextHop",
            ["networkWatcherName"],
        ),
    ]
]
_OPERATION = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)"
    r"/(?P<kind>operations|operationResults)/(?P<id>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    operation: str  # operationId, "operation-status", "operation-result" or "unknown"
    status: int

    @property
    def is_write(self) -> bool:
        return self.operation in WRITE_OPERATIONS or self.method in {"PUT", "PATCH", "DELETE"}


class RequestLog:
    """Every request the face answered, in order (thread-safe)."""

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def __iter__(self) -> Iterator[LoggedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def count(self, method: str | None = None, operation: str | None = None) -> int:
        return sum(
            1
            for r in self
            if (method is None or r.method == method)
            and (operation is None or r.operation == operation)
        )

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self if r.is_write]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class _Pending:
    reply: Reply
    polls_left: int | None
    location: str

    @property
    def done(self) -> bool:
        return self.polls_left is not None and self.polls_left <= 0


@dataclass(frozen=True, slots=True)
class FaceInfo:
    """Where a running face listens and how to trust and authenticate to it."""

    endpoint: str
    ca_bundle: Path
    token_file: Path

    def token(self) -> str:
        return self.token_file.read_text(encoding="utf-8").strip()


class Server:
    """A running face; `close()` stops it (also as a context manager)."""

    def __init__(
        self,
        backend: Backend,
        run_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_after: str = "1",
    ) -> None:
        self.backend = backend
        self.retry_after = retry_after
        self.requests = RequestLog()
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        folder = run_dir / "armface"
        certs = make_certificates(folder)
        self.ca_bundle = certs.ca
        self.token = secrets.token_urlsafe(32)
        token_file = folder / "token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(self.token + "\n")

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certs.cert, certs.key)
        handler = type("_BoundHandler", (_Handler,), {"face": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.endpoint = f"https://{host}:{self._httpd.server_address[1]}"
        self.info = FaceInfo(self.endpoint, self.ca_bundle, token_file)
        (folder / "face.json").write_text(
            json.dumps(
                {
                    "endpoint": self.endpoint,
                    "ca_bundle": str(self.ca_bundle),
                    "token_file": str(token_file),
                    "pid": os.getpid(),
                }
            )
            + "\n",
            encoding="utf-8",
        )
        self._face_json = folder / "face.json"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="armface",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and forget the face file (idempotent)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self._face_json.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- request handling (called from handler threads) ----------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, str]:
        """Answer one HTTP request: (status, headers, body, operation name for the log)."""
        split = urlsplit(target)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query))
        if headers.get("authorization", "") != f"Bearer {self.token}":
            return (
                *self._emit(
                    error_reply(
                        401,
                        "InvalidAuthenticationToken",
                        "The access token is invalid (the lab face accepts only its own token).",
                    )
                ),
                "unknown",
            )
        if "api-version" not in query:
            return (
                *self._emit(
                    error_reply(
                        400,
                        "MissingApiVersionParameter",
                        "The api-version query parameter is required for all requests.",
                    )
                ),
                "unknown",
            )
        m = _OPERATION.match(path)
        if m and method == "GET":
            return self._operation(m["kind"].lower(), m["id"])
        allowed = []
        for route_method, op, pattern in ROUTES:
            rm = pattern.match(path)
            if rm is None:
                continue
            allowed.append(route_method)
            if route_method != method:
                continue
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                return (
                    *self._emit(
                        error_reply(
                            400, "InvalidRequestContent", "The request content was invalid JSON."
                        )
                    ),
                    op,
                )
            call = Call(op, method, rm.groupdict(), query, parsed)
            try:
                reply = self.backend.answer(call)
            except Exception as exc:  # a backend bug must still be an ARM answer
                reply = error_reply(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
            return (*self._respond(op, method, target, reply), op)
        if allowed:
            return (
                *self._emit(
                    error_reply(
                        405, "MethodNotAllowed", f"{method} is not allowed here; use {allowed[0]}"
                    )
                ),
                "unknown",
            )
        return (
            *self._emit(
                error_reply(
                    404,
                    "InvalidResourceType",
                    f"The resource type for {path!r} could not be found.",
                )
            ),
            "unknown",
        )

    def _respond(
        self, op: str, method: str, target: str, reply: Reply
    ) -> tuple[int, dict[str, str], bytes]:
        if reply.status >= 300 or op not in LRO_OPERATIONS or reply.immediate:
            return self._emit(reply)
        op_id = str(uuid.uuid4())
        names = self.backend.names
        base = (
            f"{self.endpoint}/subscriptions/{names.subscription_id}/providers/"
            f"Microsoft.Network/locations/{names.location}"
        )
        status_url = f"{base}/operations/{op_id}?api-version=2026-03-01"
        result_url = f"{base}/operationResults/{op_id}?api-version=2026-03-01"
        with self._lock:
            self._pending[op_id] = _Pending(reply, reply.polls, result_url)
        headers = {"Azure-AsyncOperation": status_url, "Retry-After": self.retry_after}
        if method == "PUT":
            body = reply.body
            if isinstance(body, dict) and isinstance(body.get("properties"), dict):
                body = {
                    **body,
                    "properties": {**body["properties"], "provisioningState": "Updating"},
                }
            return self._emit(Reply(201, body, headers))
        headers["Location"] = result_url
        return self._emit(Reply(202, None, headers))

    def _operation(self, kind: str, op_id: str) -> tuple[int, dict[str, str], bytes, str]:
        retry = {"Retry-After": self.retry_after}
        with self._lock:
            pending = self._pending.get(op_id)
            if pending is None:
                return (
                    *self._emit(
                        error_reply(404, "OperationNotFound", f"Operation {op_id} was not found.")
                    ),
                    "unknown",
                )
            if kind == "operations":
                if pending.done:
                    return (
                        *self._emit(Reply(200, {"status": "Succeeded", "name": op_id})),
                        "operation-status",
                    )
                if pending.polls_left is not None:
                    pending.polls_left -= 1
                body = {"status": "InProgress", "name": op_id}
                return (*self._emit(Reply(200, body, retry)), "operation-status")
            if not pending.done:
                return (
                    *self._emit(Reply(202, None, {**retry, "Location": pending.location})),
                    "operation-result",
                )
            return (*self._emit(pending.reply), "operation-result")

    @staticmethod
    def _emit(reply: Reply) -> tuple[int, dict[str, str], bytes]:
        headers = {"x-ms-request-id": str(uuid.uuid4()), **reply.headers}
        if reply.raw is not None:
            body = reply.raw
        elif reply.body is None:
            body = b""
        else:
            body = json.dumps(reply.body).encode()
        if body:
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return reply.status, headers, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    face: Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, out, op = self.face.handle(self.command, self.path, headers, body)
        self.face.requests.add(LoggedRequest(self.command, urlsplit(self.path).path, op, status))
        self.send_response(status)
        for k, v in out_headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `Server.requests`."""


def serve(backend: Backend, run_dir: Path, *, port: int = 0, retry_after: str = "1") -> Server:
    """Start the face for `backend`, its certificate and token in `<run_dir>/armface/`."""
    return Server(backend, run_dir, port=port, retry_after=retry_after)


def discover(run_dir: Path) -> FaceInfo:
    """The face running for a lab run folder (from `<run_dir>/armface/face.json`)."""
    face = run_dir / "armface" / "face.json"
    try:
        data = json.loads(face.read_text(encoding="utf-8"))
        return FaceInfo(data["endpoint"], Path(data["ca_bundle"]), Path(data["token_file"]))
    except FileNotFoundError:
        raise TargetError(
            f"lab face: {face} not found; start it with `python -m armface --run-dir {run_dir}`"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"lab face: {face} is unreadable ({exc}); restart the face") from None
