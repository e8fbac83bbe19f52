"""What the gateway tests run on: every service, a gateway, and for the identity tests one workspace."""

from collections.abc import Awaitable, Callable

import pytest
from nats.js import JetStreamContext

from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.identity_support import System
from tests.support import new_workspace


@pytest.fixture
async def services(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]],
) -> dict[str, ServiceRuntime]:
    """One replica of every service, by name."""
    return await start_all_services()


@pytest.fixture
async def gateway(
    services: dict[str, ServiceRuntime], start_gateway: Callable[..., Awaitable[RunningGateway]]
) -> RunningGateway:
    """Every service and a gateway with its default settings."""
    return await start_gateway()


@pytest.fixture
async def unlimited_gateway(
    services: dict[str, ServiceRuntime], start_gateway: Callable[..., Awaitable[RunningGateway]]
) -> RunningGateway:
    """Every service and a gateway with its rate limit out of the way, for tests that send many requests."""
    return await start_gateway(rate_limit_per_second=1_000_000)


@pytest.fixture
def system(services: dict[str, ServiceRuntime], gateway: RunningGateway, js: JetStreamContext) -> System:
    """One replica of every service, a gateway, a fresh workspace."""
    return System(services, gateway.client, js, new_workspace())
