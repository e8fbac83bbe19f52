"""Request/reply over core NATS: typed operations, one way to serve them and one way to call them.

An operation names its subject, request model and reply model. The serving side validates the
request once, hands the handler a model and encodes its model reply; the calling side gets the
reply as that model, or the ServiceError the service raised.
"""

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError

from shared import metrics
from shared.errors import FieldError, Rejected, ServiceError, error_from_wire
from shared.jsonutil import dumps, loads
from shared.logging import get_logger, log_context
from shared.subjects import rpc_subject
from shared.tracing import Attributes, SpanKind, failed, inject, span

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"

Req = TypeVar("Req", bound=BaseModel)
Rep = TypeVar("Rep", bound=BaseModel)


class Empty(BaseModel):
    """A request or reply with nothing to say."""


class Ping(BaseModel):
    """Reply of every service's `ping`: which service answered."""

    service: str


@dataclass(frozen=True)
class Operation(Generic[Req, Rep]):
    """A request/reply operation of a service: its subject and the models on either side.

    Internal operations live on rpc.<service>.<name> and reply {"ok": reply} or an error. A public
    one (CONTRACT.md §6) has a subject of its own, takes the workspace from the subject's
    `workspace_token`-th token and replies the bare result, or {"error": code}.
    """

    service: str
    name: str
    request: type[Req]
    reply: type[Rep]
    summary: str
    subject: str = ""
    workspace_token: int | None = None
    queue: str = field(default="", compare=False)
    # Only other services call it (the gateway's NATS user may not).
    internal: bool = False

    def __post_init__(self) -> None:
        if not self.subject:
            object.__setattr__(self, "subject", rpc_subject(self.service, self.name))
        if not self.queue:
            object.__setattr__(self, "queue", self.service)

    @property
    def public(self) -> bool:
        """Whether callers outside the system use it (bare replies)."""
        return self.workspace_token is not None


class OperationInfo(Protocol):
    """What documents and permissions need of an operation, whatever its models."""

    @property
    def service(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def request(self) -> type[BaseModel]: ...

    @property
    def reply(self) -> type[BaseModel]: ...

    @property
    def public(self) -> bool: ...

    @property
    def internal(self) -> bool: ...


def ping_operation(service: str) -> Operation[Empty, Ping]:
    """The liveness operation every service answers."""
    return Operation(service, "ping", Empty, Ping, "which service answers")


class ServiceUnavailable(Exception):
    """The service did not answer in time, or no replica is running."""

    def __init__(self, service: str) -> None:
        super().__init__(f"the {service} service did not answer")
        self.service = service


def _field_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(field=".".join(str(p) for p in err["loc"]) or "body", message=err["msg"])
        for err in exc.errors(include_url=False)
    ]


def decode_request(operation: Operation[Req, Rep], subject: str, data: bytes) -> Req:
    """The request model of a message; Rejected naming each bad field."""
    try:
        if operation.workspace_token is None:
            return operation.request.model_validate_json(data or b"{}")
        body = loads(data) if data else {}
        if not isinstance(body, dict):
            raise Rejected.field("body", "must be a JSON object")
        body["workspace"] = subject.split(".")[operation.workspace_token]
        return operation.request.model_validate(body)
    except ValidationError as exc:
        raise Rejected(_field_errors(exc), "invalid request") from None


def _failure(exc: ServiceError, envelope: bool) -> bytes:
    if not envelope:
        return dumps({"error": exc.code})
    body: dict[str, object] = {
        "error": exc.code,
        "detail": exc.detail,
        "errors": [e.model_dump() for e in exc.errors],
    }
    if exc.extra:
        body["extra"] = exc.extra
    return dumps(body)


@functools.cache
def _telemetry(service: str, name: str) -> tuple[str, Attributes]:
    """An operation's name in metrics and spans, and its span attributes."""
    return f"{service}.{name}", {"rpc.system": "nats", "rpc.service": service, "rpc.method": name}


async def _answer(operation: Operation[Req, Rep], handler: Callable[[Req], Awaitable[Rep]], msg: Msg) -> None:
    started = time.perf_counter()
    headers = msg.headers or {}
    label, attributes = _telemetry(operation.service, operation.name)
    with (
        log_context(request_id=headers.get(REQUEST_ID_HEADER), subject=msg.subject),
        span(label, SpanKind.SERVER, parent=headers, attributes=attributes) as current,
    ):
        envelope = not operation.public
        try:
            reply = await handler(decode_request(operation, msg.subject, msg.data))
            body = reply.model_dump_json().encode()
            data = b'{"ok":' + body + b"}" if envelope else body
            outcome = "ok"
        except ServiceError as exc:
            data, outcome = _failure(exc, envelope), exc.code
        except ValueError as exc:
            # Parsing the caller's values (ids, times) failed below the request model.
            data, outcome = _failure(Rejected([], str(exc)), envelope), Rejected.code
        except Exception as exc:
            log.exception("rpc_failed", error=repr(exc))
            data, outcome = _failure(ServiceError("internal error"), envelope), ServiceError.code
        if outcome == ServiceError.code:
            failed(current, "internal error")
        if msg.reply:
            await msg.respond(data)
    metrics.rpc_answered(label, outcome, time.perf_counter() - started)


async def serve(
    nc: NATS,
    operation: Operation[Req, Rep],
    handler: Callable[[Req], Awaitable[Rep]],
    *,
    concurrency: int = 64,
) -> Subscription:
    """Answer `operation` in its queue group, many requests at once."""
    limit = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def bounded(msg: Msg) -> None:
        async with limit:
            await _answer(operation, handler, msg)

    async def on_request(msg: Msg) -> None:
        # NATS calls back one message at a time; answer each in its own task.
        task = asyncio.create_task(bounded(msg))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    metrics.operation_served(_telemetry(operation.service, operation.name)[0])
    return await nc.subscribe(operation.subject, queue=operation.queue, cb=on_request)


async def call(
    nc: NATS,
    operation: Operation[Req, Rep],
    request: Req,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> Rep:
    """Call an operation: its reply, the ServiceError it reports, ServiceUnavailable if none answers.

    The current trace context goes with the request, so the service's work continues the trace.
    """
    # Only what the caller set: a field left out and one set to null mean different things.
    data = request.model_dump_json(exclude_unset=True).encode()
    label, attributes = _telemetry(operation.service, operation.name)
    with span(label, SpanKind.CLIENT, attributes=attributes) as current:
        outgoing = inject(dict(headers or {}))
        try:
            msg = await nc.request(operation.subject, data, timeout=timeout, headers=outgoing or None)
        except (NatsTimeoutError, TimeoutError, NoRespondersError) as exc:
            failed(current, "no answer")
            metrics.rpc_called(label, "unavailable")
            raise ServiceUnavailable(operation.service) from exc
    try:
        reply = operation.reply.model_validate(reply_data(msg.data, envelope=not operation.public))
    except ServiceError as exc:
        metrics.rpc_called(label, exc.code)
        raise
    metrics.rpc_called(label, "ok")
    return reply


def reply_data(data: bytes, *, envelope: bool = True) -> object:
    """The JSON result of a reply; the ServiceError it reports instead."""
    body = loads(data)
    if isinstance(body, dict) and "error" in body:
        errors = [FieldError.model_validate(e) for e in body.get("errors") or []]
        extra = body.get("extra")
        members = {str(k): str(v) for k, v in extra.items()} if isinstance(extra, dict) else None
        raise error_from_wire(str(body["error"]), str(body.get("detail", "")), errors, members)
    return body["ok"] if envelope else body


def request_headers(request_id: str | None) -> dict[str, str]:
    """Headers that carry a request's id to the services it causes work in."""
    return {REQUEST_ID_HEADER: request_id} if request_id else {}
