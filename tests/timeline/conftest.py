"""The timeline service on the suite's real servers, with the streams it binds to declared."""

from collections.abc import Awaitable, Callable

import pytest
from nats.js import JetStreamContext

from services.timeline.app import definition
from services.timeline.config import Settings
from shared.runtime import ServiceRuntime
from tests.support import declare_streams_bound_by, new_workspace
from tests.timeline.support import Connector


async def declare_bound_streams(js: JetStreamContext) -> None:
    """CHAT, PROFILE and INSIGHTS, which the profile and insights services declare in a running system."""
    await declare_streams_bound_by(js, definition)


@pytest.fixture
async def timeline_service(
    start_service: Callable[..., Awaitable[ServiceRuntime]], js: JetStreamContext
) -> ServiceRuntime:
    """A running timeline replica with quick retries."""
    await declare_bound_streams(js)
    return await start_service(definition, Settings, retry_backoff=(0.05,), max_deliver=3)


@pytest.fixture
def chat(timeline_service: ServiceRuntime, js: JetStreamContext) -> Connector:
    """The usual platform user's connector in a fresh workspace, with the timeline running."""
    return Connector(js, new_workspace())
