"""ASGI middleware: request ids in logs, body size limit, NUL bytes in query strings; metrics, a
span and an access-log line per request."""

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException

from gateway.errors import Problem, field_error
from shared import metrics
from shared.logging import get_logger, log_context
from shared.tracing import Span, SpanKind, failed, span

log = get_logger("gateway.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class GuardMiddleware:
    """Assigns a request id, refuses bodies over the limit (413) and NUL bytes in the query (422)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                present = {name.lower() for name, _ in headers}
                # Browsers must not guess a content type (a JSON answer rendered as HTML).
                if b"x-content-type-options" not in present:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in present:
                    # Customer data stays out of shared and browser caches; what may be cached
                    # (the dashboard's files) says so itself.
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        with log_context(request_id=request_id):
            if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
                await Problem(
                    422, "the request is not valid", errors=field_error("query", "must not contain U+0000")
                ).response()(scope, receive, send_with_id)
                return
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await Problem(413, f"request body over {self.max_body_bytes} bytes").response()(
                    scope, receive, send_with_id
                )
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        # Raised inside the app's body parsing: only an HTTPException passes through it.
                        raise HTTPException(413, f"request body over {self.max_body_bytes} bytes")
                return message

            await self.app(scope, limited_receive, send_with_id)


# Methods counted under their own name; anything else a client sends is "OTHER" (bounded labels).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})


class TelemetryMiddleware:
    """Per request: metrics and a server span named by its route template, one access-log line.

    The route is the template the request matched (`/v1/customers/{customer_id}`), never the raw
    path, so labels stay few and no id, token or query string reaches metrics, spans or the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        status = 500  # what the server answers if the app raises before responding
        # Without trace headers the span starts a trace: running the propagators over no headers
        # cost a warm view ~8,000 instructions for nothing (docs/benchmarks.md).
        parent = {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in _TRACE_HEADERS} or None

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with span(method, SpanKind.SERVER, parent=parent) as current:
            try:
                await self.app(scope, receive, send_and_note)
            finally:
                _observe(scope, current, method, status, time.perf_counter() - started)


def _observe(scope: Scope, current: Span, method: str, status: int, seconds: float) -> None:
    """Record one answered request: its span's name and outcome, its metrics, its access-log line."""
    route = _route_template(scope)
    if current.is_recording():
        current.update_name(f"{method} {route}")
        current.set_attributes(
            {"http.request.method": method, "http.route": route, "http.response.status_code": status}
        )
        if status >= 500:
            failed(current, f"answered {status}")
    metrics.http_answered(method, route, status, seconds)
    state = scope.get("state", {})
    log.info(
        "http_request",
        method=method,
        route=route,
        status=status,
        duration_ms=round(seconds * 1000, 2),
        request_id=state.get("request_id"),
        workspace=getattr(state.get("principal"), "workspace", None),
    )


def _route_template(scope: Scope) -> str:
    """The path template of the route that answered (converters aside, as the OpenAPI writes it);
    `unmatched` when none did."""
    route = scope.get("route")
    return str(getattr(route, "path_format", "unmatched"))
