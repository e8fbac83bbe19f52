"""ASGI middleware: request ids in logs, body size limit, NUL bytes in query strings."""

import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException

from gateway.errors import field_error, problem_response
from shared.logging import log_context

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
                await problem_response(
                    422,
                    "the request is not valid",
                    field_error("query", "must not contain U+0000"),
                )(scope, receive, send_with_id)
                return
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await problem_response(413, f"request body over {self.max_body_bytes} bytes")(
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
