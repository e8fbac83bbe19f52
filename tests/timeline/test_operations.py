"""The timeline's request/reply operations: pagination, cursors, counts, transcripts."""

from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.errors import ServiceError
from shared.messages import timeline
from shared.rpc import OperationInfo
from shared.runtime import ServiceRuntime
from tests.support import new_workspace, wait_for
from tests.timeline.support import Connector, at, call, consumer_settled


async def _all_pages(
    nc: NATS, operation: OperationInfo, workspace: str, customer_id: str, limit: int
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page: dict[str, Any] = await call(
            nc,
            operation,
            {"workspace": workspace, "customer_id": customer_id, "limit": limit, "cursor": cursor},
        )
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_lists_are_newest_first_in_keyset_pages(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    other = Connector(js, ws, user="+971509999999")
    for n in range(7):
        await chat.started(f"c{n}", at(n * 10))
    # Two conversations starting at the same instant are ordered by id.
    await chat.started("c7", at(60))
    await other.started("x1", at(5))
    for n in range(5):
        await chat.escalated(f"c{n}", f"e{n}", at(n * 10 + 1), f"reason {n}")
    await wait_for(lambda: consumer_settled(js), what="events applied")

    conversations = await _all_pages(nc, timeline.LIST_CONVERSATIONS, ws, chat.customer_id, 3)
    assert conversations == [["c7", "c6", "c5"], ["c4", "c3", "c2"], ["c1", "c0"]]
    escalations = await _all_pages(nc, timeline.LIST_ESCALATIONS, ws, chat.customer_id, 2)
    assert escalations == [["e4", "e3"], ["e2", "e1"], ["e0"]]
    # A page that ends exactly at the last row says there is nothing more.
    assert await _all_pages(nc, timeline.LIST_ESCALATIONS, ws, chat.customer_id, 5) == [
        ["e4", "e3", "e2", "e1", "e0"]
    ]
    counts = await call(nc, timeline.COUNT_TIMELINE, {"workspace": ws, "customer_id": chat.customer_id})
    assert counts == {"conversations": 8, "escalations": 5, "escalation_rate": 0.625}


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"cursor": "not json"}, "cursor"),
    ({"cursor": '["yesterday","c1"]'}, "cursor"),
    ({"cursor": '["2025-01-01T00:00:00","c1"]'}, "cursor"),
    ({"cursor": '{"a":1}'}, "cursor"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"customer_id": "not-a-uuid"}, "customer_id"),
    ({"workspace": "a.b"}, "workspace"),
]


async def test_malformed_requests_are_invalid_naming_the_field(
    timeline_service: ServiceRuntime, nc: NATS
) -> None:
    for payload, field in MALFORMED:
        request = {
            "workspace": new_workspace(),
            "customer_id": "6f6e2a53-3b8f-4a8e-9c1d-2f0c7c1e5a10",
            **payload,
        }
        for operation in (timeline.LIST_CONVERSATIONS, timeline.LIST_ESCALATIONS):
            with pytest.raises(ServiceError) as raised:
                await call(nc, operation, request)
            assert raised.value.code == "invalid", payload
            assert [error.field for error in raised.value.errors] == [field], payload


async def test_transcript_keeps_the_most_recent_messages_that_fit(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    # Published newest first: the transcript orders by when they were sent, not by arrival.
    for n, text in reversed(list(enumerate(["aaaa", "bbbbb", "cccccc", "dd"]))):
        await chat.message("c1", at(n), text, message_id=f"m{n}")
    await wait_for(lambda: consumer_settled(js), what="messages applied")

    async def transcript(max_chars: int) -> tuple[list[str], bool]:
        body = await call(
            nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": max_chars}
        )
        return [m["text"] for m in body["messages"]], body["truncated"]

    assert await transcript(17) == (["aaaa", "bbbbb", "cccccc", "dd"], False)
    assert await transcript(16) == (["bbbbb", "cccccc", "dd"], True)
    assert await transcript(13) == (["bbbbb", "cccccc", "dd"], True)
    assert await transcript(12) == (["cccccc", "dd"], True)
    # The newest message alone is too long: its beginning is kept rather than nothing.
    assert await transcript(1) == (["d"], True)
    with pytest.raises(ServiceError) as raised:
        await call(nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "nope", "max_chars": 10})
    assert raised.value.code == "not_found"
    with pytest.raises(ServiceError) as raised:
        await call(nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 0})
    assert raised.value.code == "invalid"
