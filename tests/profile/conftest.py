"""The profile stack fixture: the service and a gateway on the test's own servers."""

import pytest

from services.profile.app import definition
from tests.conftest import StackStarter
from tests.profile.support import ProfileStack


@pytest.fixture
async def stack(start_stack: StackStarter) -> ProfileStack:
    """Profile (quick retries, so a failing event is set aside fast) and the gateway."""
    return await start_stack(ProfileStack, definition, retry_backoff=(0.05,), max_deliver=3)
