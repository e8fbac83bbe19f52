"""The gateway's FastAPI application and its wiring to NATS and Redis."""

import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import FastAPI

from gateway.auth import TokenCache, TokenRules
from gateway.cache import ViewCache
from gateway.clients import ServiceClient
from gateway.config import GatewaySettings
from gateway.errors import install_error_handlers
from gateway.live import LiveHub
from gateway.middleware import GuardMiddleware
from gateway.ratelimit import RateLimiter
from gateway.routes import ROUTERS
from gateway.routes.problems import document_problems, problem_responses
from shared.logging import configure_logging
from shared.nats import connect


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app; connects to NATS and Redis for its lifetime."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.nc = await connect(settings.nats_url, "gateway", settings.nats_user, settings.nats_password)
        app.state.redis = aioredis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        app.state.services = ServiceClient(app.state.nc, settings.service_timeout)
        app.state.view_cache = ViewCache(app.state.redis)
        app.state.rate_limiter = RateLimiter(app.state.redis, settings.rate_limit_per_second)
        app.state.rate_limiter.start()
        app.state.live = LiveHub(app.state.nc, app.state.view_cache)
        await app.state.live.start()
        try:
            yield
        finally:
            await app.state.live.stop()
            await app.state.rate_limiter.stop()
            await app.state.redis.aclose()
            await app.state.nc.drain()

    app = FastAPI(
        title="Customer profile API",
        version="1",
        description="The HTTP API of the customer profile back end (CONTRACT.md §2–§4). Every error is "
        "application/problem+json; every list is newest first with opaque cursors; a method a resource "
        "does not support answers 405 with its `Allow`, and OPTIONS answers that `Allow`.",
        lifespan=lifespan,
        # U+0000 in the query string answers 422 on every route (gateway/middleware.py).
        responses=problem_responses(422),
        # Operation ids are the routes' names (`list_customers`), which generated clients name their calls by.
        generate_unique_id_function=lambda route: route.name,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.tokens = TokenCache(
        TokenRules(
            secret=settings.jwt_secret,
            max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    document_problems(app)
    return app


def app_from_environment() -> FastAPI:
    """The app configured from the environment (uvicorn's factory, one call per worker)."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    return create_app(settings)
