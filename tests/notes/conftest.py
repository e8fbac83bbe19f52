"""The notes stack fixture: the service and a gateway on the test's own servers."""

import pytest

from services.notes.app import definition
from services.profile.app import definition as profile_definition
from tests.conftest import StackStarter
from tests.notes.support import NotesStack


@pytest.fixture
async def stack(start_stack: StackStarter) -> NotesStack:
    """Notes, the profile service it asks about customers it has not heard of yet, and the gateway.

    Tests announce customers on the PROFILE stream themselves, as the profile service would.
    """
    return await start_stack(NotesStack, definition, profile_definition)
