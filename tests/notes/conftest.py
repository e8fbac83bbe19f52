"""The notes stack fixture: the service and a gateway on the test's own servers."""

from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.notes.app import definition
from services.notes.config import Settings
from services.profile.app import definition as profile_definition
from services.profile.config import Settings as ProfileSettings
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.notes.support import NotesStack
from tests.support import declare_streams_bound_by


@pytest.fixture
async def stack(
    start_service: Callable[..., Awaitable[ServiceRuntime]],
    start_gateway: Callable[..., Awaitable[RunningGateway]],
    nc: NATS,
    js: JetStreamContext,
) -> NotesStack:
    """Notes, the profile service it asks about customers it has not heard of yet, and the gateway.

    Tests announce customers on the PROFILE stream themselves, as the profile service would.
    """
    await declare_streams_bound_by(js, definition, profile_definition)
    await start_service(profile_definition, ProfileSettings)
    runtime = await start_service(definition, Settings)
    return NotesStack(runtime=runtime, gateway=await start_gateway(), nc=nc, js=js)
