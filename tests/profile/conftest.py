"""The profile stack fixture: the service and a gateway on the test's own servers."""

from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.profile.app import definition
from services.profile.config import Settings
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.profile.support import ProfileStack
from tests.support import declare_streams_bound_by


@pytest.fixture
async def stack(
    start_service: Callable[..., Awaitable[ServiceRuntime]],
    start_gateway: Callable[..., Awaitable[RunningGateway]],
    nc: NATS,
    js: JetStreamContext,
) -> ProfileStack:
    """Profile (quick retries, so a failing event is set aside fast) and the gateway."""
    await declare_streams_bound_by(js, definition)
    runtime = await start_service(definition, Settings, retry_backoff=(0.05,), max_deliver=3)
    return ProfileStack(runtime=runtime, gateway=await start_gateway(), nc=nc, js=js)
