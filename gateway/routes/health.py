"""Liveness and readiness, on the public port (CONTRACT.md §4) as on the admin port (§9)."""

import asyncio

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from gateway.routes.problems import problem_responses
from shared.admin import readiness_response
from shared.errors import FieldError, ServiceError
from shared.registry import SERVICE_NAMES
from shared.rpc import Empty, ServiceUnavailable, call, ping_operation

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


async def _service_answers(app: FastAPI, service: str) -> bool:
    try:
        await call(
            app.state.nc, ping_operation(service), Empty(), timeout=app.state.settings.readiness_timeout
        )
    except (ServiceUnavailable, ServiceError):
        return False
    return True


async def _redis_answers(app: FastAPI) -> bool:
    try:
        return bool(await asyncio.wait_for(app.state.redis.ping(), app.state.settings.readiness_timeout))
    except Exception:
        return False


async def not_ready(app: FastAPI) -> list[FieldError]:
    """What keeps the gateway from being ready: NATS, Redis, each service that does not answer."""
    down: list[str] = []
    if not app.state.nc.is_connected:
        down.append("nats")
    checks = await asyncio.gather(_redis_answers(app), *(_service_answers(app, s) for s in SERVICE_NAMES))
    if not checks[0]:
        down.append("redis")
    down += [s for s, ok in zip(SERVICE_NAMES, checks[1:], strict=True) if not ok]
    return [FieldError(field=name, message="did not answer") for name in down]


@router.get("/readyz", response_model=None, responses=problem_responses(503))
async def readyz(request: Request) -> Response:
    """200 when NATS, Redis and every service answer; else 503 naming those that do not."""
    return readiness_response(await not_ready(request.app))
