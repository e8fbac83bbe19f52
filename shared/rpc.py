"""Request/reply over core NATS: one way to serve an operation and one way to call it."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError

from shared.jsonutil import dumps, loads
from shared.logging import get_logger, log_context

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"

# Called with the request body and the subject it arrived on.
RpcHandler = Callable[[dict[str, Any], str], Awaitable[Any]]


class RpcError(Exception):
    """A failure a service reports to its caller: a code (not_found, invalid, ...) and detail."""

    def __init__(self, code: str, detail: str = "", errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.errors = errors or []


class ServiceUnavailable(Exception):
    """The service did not answer in time, or no replica is running."""


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def _to_jsonable(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


async def _answer(handler: RpcHandler, msg: Msg, envelope: bool) -> None:
    request_id = (msg.headers or {}).get(REQUEST_ID_HEADER)
    with log_context(request_id=request_id, subject=msg.subject):
        reply: dict[str, Any]
        try:
            payload = loads(msg.data) if msg.data else {}
            if not isinstance(payload, dict):
                raise RpcError("invalid", "request must be a JSON object")
            result = _to_jsonable(await handler(payload, msg.subject))
            reply = {"ok": result} if envelope else result
        except RpcError as exc:
            reply = {"error": exc.code, "detail": exc.detail, "errors": exc.errors}
        except ValidationError as exc:
            reply = {"error": "invalid", "detail": "invalid request", "errors": _validation_errors(exc)}
        except ValueError as exc:
            reply = {"error": "invalid", "detail": str(exc), "errors": []}
        except Exception as exc:
            log.exception("rpc_failed", error=repr(exc))
            reply = {"error": "internal", "detail": "internal error", "errors": []}
        if not envelope and "error" in reply:
            reply = {"error": reply["error"]}
        if msg.reply:
            await msg.respond(dumps(reply))


async def serve(
    nc: NATS,
    subject: str,
    queue: str,
    handler: RpcHandler,
    *,
    envelope: bool = True,
    concurrency: int = 64,
) -> Subscription:
    """Answer requests on `subject` in queue group `queue`, many at once.

    With `envelope` the reply is {"ok": result} or {"error", "detail", "errors"}; without, the
    bare result or {"error": code} (the public agent-context shape).
    """
    limit = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def bounded(msg: Msg) -> None:
        async with limit:
            await _answer(handler, msg, envelope)

    async def on_request(msg: Msg) -> None:
        # NATS calls back one message at a time; answer each in its own task.
        task = asyncio.create_task(bounded(msg))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return await nc.subscribe(subject, queue=queue, cb=on_request)


async def request(
    nc: NATS,
    subject: str,
    payload: dict[str, Any] | BaseModel,
    *,
    timeout: float,
    request_id: str | None = None,
) -> Any:
    """Call an operation; its result, RpcError for a reported failure, ServiceUnavailable if none."""
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    try:
        msg = await nc.request(subject, dumps(payload), timeout=timeout, headers=headers)
    except (NatsTimeoutError, TimeoutError, NoRespondersError) as exc:
        raise ServiceUnavailable(subject) from exc
    body = loads(msg.data)
    if isinstance(body, dict) and "error" in body:
        raise RpcError(body["error"], body.get("detail", ""), body.get("errors") or [])
    return body["ok"]
