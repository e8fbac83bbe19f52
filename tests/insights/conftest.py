"""Fixtures of the insights tests."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.insights.app import definition
from services.insights.config import Settings
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.insights.support import ChatCompletionsServer, TimelineStandIn, declare_timeline_stream

InsightsStarter = Callable[..., Awaitable[tuple[ServiceRuntime, TimelineStandIn]]]


@pytest.fixture
async def chat_server() -> AsyncIterator[ChatCompletionsServer]:
    """A local HTTP server speaking the Chat Completions API, stopped after the test."""
    server = await ChatCompletionsServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def timeline(js: JetStreamContext, nc: NATS) -> TimelineStandIn:
    """The TIMELINE stream and the transcript operation the timeline will provide, served by a stand-in."""
    await declare_timeline_stream(js)
    stand_in = TimelineStandIn()
    await stand_in.serve(nc)
    return stand_in


@pytest.fixture
def start_insights(start_service: ServiceStarter, timeline: TimelineStandIn) -> InsightsStarter:
    """Factory of insights (quick retries; the embedded analyser unless `overrides` configure an LLM)
    reading from the timeline stand-in: (runtime, stand-in)."""

    async def start(**overrides: Any) -> tuple[ServiceRuntime, TimelineStandIn]:
        runtime = await start_service(
            definition,
            Settings,
            retry_backoff=(0.05,),
            max_deliver=3,
            **{"openai_api_key": None, "openai_base_url": None, **overrides},
        )
        return runtime, timeline

    return start


@pytest.fixture
async def runtime(start_insights: InsightsStarter) -> ServiceRuntime:
    """Insights with the embedded analyser, reading from the `timeline` stand-in."""
    started, _ = await start_insights()
    return started
