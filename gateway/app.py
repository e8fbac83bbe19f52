"""The gateway's FastAPI application and its wiring to NATS and Redis."""

import contextlib
import functools
import os
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import FastAPI

from gateway.auth import TokenCache, TokenRules
from gateway.cache import ViewCache
from gateway.clients import ServiceClient
from gateway.config import GatewaySettings
from gateway.errors import install_error_handlers
from gateway.live import LiveHub
from gateway.middleware import GuardMiddleware, TelemetryMiddleware
from gateway.ratelimit import RateLimiter
from gateway.routes import ROUTERS
from gateway.routes.health import not_ready
from gateway.routes.problems import document_problems, problem_responses
from shared import metrics
from shared.admin import AdminServer
from shared.heap import freeze_startup_heap
from shared.logging import configure_logging
from shared.nats import connect
from shared.tracing import configure_tracing, flush


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app; connects to NATS and Redis and serves its admin port for its lifetime."""

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
        app.state.admin = AdminServer(
            "gateway", functools.partial(not_ready, app), interval=settings.metrics_interval_seconds
        )
        # Every worker serves the one admin port: a scrape of any adds up all of them.
        await app.state.admin.start(settings.admin_host, settings.admin_port, shared_port=True)
        try:
            yield
        finally:
            await app.state.admin.stop()
            metrics.forget_process(os.getpid())
            flush()
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
        # TelemetryMiddleware records each request's span and metrics. FastAPI's own telemetry,
        # on as soon as a tracer provider is, would record them again and add a span for every
        # dependency and every serialisation (it tripled the CPU of a cached view).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
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
    if settings.telemetry:
        # Outermost: it times and sees everything the others answer, 413s and 422s included.
        app.add_middleware(TelemetryMiddleware)
    for router in ROUTERS:
        app.include_router(router)
    document_problems(app)
    return app


def app_from_environment() -> FastAPI:
    """The app configured from the environment (uvicorn's factory, one call per worker)."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    metrics.record(settings.telemetry)
    configure_tracing("gateway", settings)
    app = create_app(settings)
    freeze_startup_heap()
    return app
