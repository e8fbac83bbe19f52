"""Fixtures of the insights tests."""

from collections.abc import AsyncIterator

import pytest

from tests.insights.support import ChatCompletionsServer


@pytest.fixture
async def chat_server() -> AsyncIterator[ChatCompletionsServer]:
    """A local HTTP server speaking the Chat Completions API, stopped after the test."""
    server = await ChatCompletionsServer().start()
    yield server
    await server.stop()
