"""The running system the identity tests drive: every service and a gateway, and one workspace."""

from collections.abc import Awaitable, Callable

import pytest
from nats.js import JetStreamContext

from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.identity_support import System
from tests.support import new_workspace


@pytest.fixture
async def system(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]],
    start_gateway: Callable[..., Awaitable[RunningGateway]],
    js: JetStreamContext,
) -> System:
    """One replica of every service, a gateway, a fresh workspace."""
    runtimes = await start_all_services()
    gateway = await start_gateway()
    return System(runtimes, gateway.client, js, new_workspace())
