"""The face's HTTPS server: ARM paths in, Backend calls, ARM responses out.

Long-running operations behave as ARM's do: the first answer is 202 (POST), 200 (PUT of
an existing resource) or 201 (PUT creating one) with Azure-AsyncOperation (and Location
for POST) and Retry-After; the Azure-AsyncOperation URL answers {"status": "InProgress"}
until the operation is done (`Reply.polls` answers, and as long as the profile's timing
says: armface.operations), then "Succeeded" or "Failed" with an error; the Location URL
answers 202 until then and the result after. The drill config's `[azure.face]`
(core.face_profile.FaceProfile) sets the timing, the Retry-After, 409s, 429s, 5xx and
failed operations, the accepted api-versions and the access log.

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
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from erdrill.armface.backend import (
    LRO_OPERATIONS,
    WRITE_OPERATIONS,
    Backend,
    Call,
    Reply,
    error_reply,
)
from erdrill.armface.bodies import body_problem
from erdrill.armface.certs import make_certificates
from erdrill.armface.inventory import permissions_reply
from erdrill.armface.operations import Operation, Operations, resource_of
from erdrill.armface.requestlog import ACCESS_LOG, AccessLog, LoggedRequest, RequestLog
from erdrill.armface.routes import AUTHORIZATION_API_VERSIONS, OPERATION_URL, PERMISSIONS, ROUTES
from erdrill.core.errors import TargetError
from erdrill.core.face_profile import FaceProfile

__all__ = [
    "ACCESS_LOG",
    "FaceInfo",
    "LoggedRequest",
    "RequestLog",
    "Server",
    "discover",
    "serve",
]


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
        profile: FaceProfile | None = None,
    ) -> None:
        self.backend = backend
        self.profile = profile or FaceProfile()
        self.retry_after = str(self.profile.retry_after_s)
        self.requests = RequestLog()
        self.ops = Operations(backend, self.profile)
        folder = run_dir / "armface"
        certs = make_certificates(folder)
        self.access_log = AccessLog(folder / ACCESS_LOG if self.profile.access_log else None)
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
        info: dict[str, object] = {"endpoint": self.endpoint, "ca_bundle": str(self.ca_bundle)}
        info |= {"token_file": str(token_file), "pid": os.getpid()}
        (folder / "face.json").write_text(json.dumps(info) + "\n", encoding="utf-8")
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
        self.ops.close()
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
        refused = self._refuse(headers, query, path)
        if refused is not None:
            return (*self._emit(refused), "unknown")
        m = OPERATION_URL.match(path)
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
                bad = error_reply(
                    400, "InvalidRequestContent", "The request content was invalid JSON."
                )
                return (*self._emit(bad), op)
            call = Call(op, method, rm.groupdict(), query, parsed, headers)
            try:
                reply = self._answer(call)
            except Exception as exc:  # a backend bug must still be an ARM answer
                reply = error_reply(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
            return (*self._emit(reply), op)
        if allowed:
            wrong = error_reply(
                405, "MethodNotAllowed", f"{method} is not allowed here; use {allowed[0]}"
            )
            return (*self._emit(wrong), "unknown")
        missing = error_reply(
            404, "InvalidResourceType", f"The resource type for {path!r} could not be found."
        )
        return (*self._emit(missing), "unknown")

    def _refuse(self, headers: dict[str, str], query: dict[str, str], path: str) -> Reply | None:
        """401 without the face's token; 400 without a known api-version (ARM's codes)."""
        if headers.get("authorization", "") != f"Bearer {self.token}":
            return error_reply(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid (the lab face accepts only its own token).",
            )
        version = query.get("api-version")
        if version is None:
            return error_reply(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter is required for all requests.",
            )
        supported = self.profile.api_versions
        if "/providers/microsoft.authorization/" in path.lower():
            supported = list(AUTHORIZATION_API_VERSIONS)
        if version in supported:
            return None
        listed = "', '".join(supported)
        if not _API_VERSION.match(version):
            return error_reply(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are '{listed}'.",
            )
        kind = _RESOURCE_TYPE.search(path)
        return error_reply(
            400,
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location "
            f"'{self.backend.names.location}' and API version '{version}' for type "
            f"'{kind[1] if kind else 'operations'}'. The supported api-versions are '{listed}'.",
        )

    def _answer(self, call: Call) -> Reply:
        injected = self.ops.injected_error(call.operation)
        if injected is not None:
            return injected
        if self.profile.check_bodies:
            bad = body_problem(call)
            if bad is not None:
                return bad
        if call.operation == PERMISSIONS:
            refused = getattr(self.backend, "answer_refusal", lambda c: None)(call)
            return refused or permissions_reply(self.profile.denied_actions)
        if call.operation in WRITE_OPERATIONS:
            return self._write(call)
        if call.operation in LRO_OPERATIONS:
            reply = self.backend.answer(call)
            if reply.status >= 300 or reply.immediate:
                return reply
            urls = self._urls()
            self.ops.start_read(urls[0], call, reply, urls[2])
            return self._accepted("POST", urls, None)
        time.sleep(self.profile.read_delay_s(call.operation))
        reply = self.backend.answer(call)
        if reply.status == 200 and self.ops.running_write(resource_of(call)):
            reply = Reply(200, _updating(reply.body), reply.headers)
        return reply

    def _write(self, call: Call) -> Reply:
        """Accept a write as an operation (or refuse it: 404/400/412, 409)."""
        refusal = self.backend.precheck(call)
        if refusal is not None:
            return refusal
        urls = self._urls()
        conflict = self.ops.refuse_write(call, urls[1])
        if conflict is not None:
            return conflict
        before = None
        if call.method == "PUT":
            get = Call(call.operation.replace("CreateOrUpdate", "Get"), "GET", call.params)
            before = getattr(self.backend, "inner", self.backend).answer(get)
        op = self.ops.start_write(urls[0], call, urls[2])
        if op.reply is not None and (op.reply.status >= 300 or op.reply.immediate):
            self.ops.forget(op)
            return op.reply
        if call.method != "PUT":
            return self._accepted("POST", urls, None)
        if op.reply is not None:  # changed at once: the new body
            return self._accepted("PUT", urls, Reply(200, op.reply.body))
        body = before.body if before is not None and before.status == 200 else None
        if isinstance(body, dict) and isinstance(call.body, dict):
            asked = call.body.get("properties") or {}
            body = {**body, "properties": {**body.get("properties", {}), **asked}}
            return self._accepted("PUT", urls, Reply(200, body))
        return self._accepted("PUT", urls, Reply(201, call.body))

    def _urls(self) -> tuple[str, str, str]:
        """A new operation id, its Azure-AsyncOperation URL and its Location URL."""
        op_id = str(uuid.uuid4())
        names = self.backend.names
        base = (
            f"{self.endpoint}/subscriptions/{names.subscription_id}/providers/"
            f"Microsoft.Network/locations/{names.location}"
        )
        api = f"api-version={self.profile.api_versions[0]}"
        return op_id, f"{base}/operations/{op_id}?{api}", f"{base}/operationResults/{op_id}?{api}"

    def _accepted(self, method: str, urls: tuple[str, str, str], put: Reply | None) -> Reply:
        headers = {"Azure-AsyncOperation": urls[1], "Retry-After": self.retry_after}
        if method == "PUT" and put is not None:
            return Reply(put.status, _updating(put.body), headers)
        return Reply(202, None, {**headers, "Location": urls[2]})

    def _operation(self, kind: str, op_id: str) -> tuple[int, dict[str, str], bytes, str]:
        retry = {"Retry-After": self.retry_after}
        op = self.ops.get(op_id)
        if op is None:
            gone = error_reply(404, "OperationNotFound", f"Operation {op_id} was not found.")
            return (*self._emit(gone), "unknown")
        if kind == "operations":
            if not self.ops.poll(op):
                body = {"status": "InProgress", "name": op_id}
                return (*self._emit(Reply(200, body, retry)), "operation-status")
            return (*self._emit(Reply(200, _status_body(op))), "operation-status")
        if not self.ops.finished(op):
            waiting = Reply(202, None, {**retry, "Location": op.location})
            return (*self._emit(waiting), "operation-result")
        error = op.status()[1]
        return (*self._emit(error if error is not None else op.result()), "operation-result")

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


_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_RESOURCE_TYPE = re.compile(r"/providers/Microsoft\.Network/([^/]+)", re.IGNORECASE)


def _updating(body: Any) -> Any:
    """A resource body with provisioningState Updating (a write on it is running)."""
    if isinstance(body, dict) and isinstance(body.get("properties"), dict):
        return {**body, "properties": {**body["properties"], "provisioningState": "Updating"}}
    return body


def _status_body(op: Operation) -> dict[str, Any]:
    status, error = op.status()
    body: dict[str, Any] = {"status": status, "name": op.op_id}
    if error is not None:
        err = error.body.get("error") if isinstance(error.body, dict) else None
        body["error"] = err or {"code": "OperationFailed", "message": f"HTTP {error.status}"}
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    face: Server

    def _serve(self) -> None:
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, out, op = self.face.handle(self.command, self.path, headers, body)
        split = urlsplit(self.path)
        item = LoggedRequest(
            self.command,
            split.path,
            op,
            status,
            dict(parse_qsl(split.query)).get("api-version", ""),
            (time.monotonic() - started) * 1000.0,
            time.time(),
        )
        self.face.requests.add(item)
        self.face.access_log.write(item)
        self.send_response(status)
        for k, v in out_headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `Server.requests` (and the access log)."""


def serve(
    backend: Backend, run_dir: Path, *, port: int = 0, profile: FaceProfile | None = None
) -> Server:
    """Start the face for `backend`, its certificate and token in `<run_dir>/armface/`."""
    return Server(backend, run_dir, port=port, profile=profile)


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
