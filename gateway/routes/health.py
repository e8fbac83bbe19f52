"""Liveness and readiness."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.errors import problem_response
from gateway.routes.problems import problem_responses
from shared.errors import FieldError, ServiceError
from shared.registry import SERVICE_NAMES
from shared.rpc import Empty, ServiceUnavailable, call, ping_operation

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


async def _service_answers(request_: Request, service: str) -> bool:
    try:
        await call(
            request_.app.state.nc,
            ping_operation(service),
            Empty(),
            timeout=request_.app.state.settings.readiness_timeout,
        )
    except (ServiceUnavailable, ServiceError):
        return False
    return True


async def _redis_answers(request_: Request) -> bool:
    try:
        return bool(
            await asyncio.wait_for(
                request_.app.state.redis.ping(), request_.app.state.settings.readiness_timeout
            )
        )
    except Exception:
        return False


@router.get("/readyz", response_model=None, responses=problem_responses(503))
async def readyz(request: Request) -> dict[str, str] | Response:
    """200 when NATS, Redis and every service answer; else 503 naming those that do not."""
    down: list[str] = []
    if not request.app.state.nc.is_connected:
        down.append("nats")
    checks = await asyncio.gather(
        _redis_answers(request), *(_service_answers(request, s) for s in SERVICE_NAMES)
    )
    if not checks[0]:
        down.append("redis")
    down += [s for s, ok in zip(SERVICE_NAMES, checks[1:], strict=True) if not ok]
    if down:
        return problem_response(
            503,
            "not ready: " + ", ".join(down),
            [FieldError(field=name, message="did not answer") for name in down],
        )
    return {"status": "ready"}
