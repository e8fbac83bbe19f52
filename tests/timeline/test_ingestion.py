"""Connector events into the timeline on real NATS and PostgreSQL: every type, order, limits, isolation."""

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.deadletter import list_dead_letters
from shared.errors import ServiceError
from shared.links import chat_url
from shared.messages import timeline
from shared.runtime import ServiceRuntime
from tests.support import connector_event, new_workspace, publish_event, wait_for
from tests.timeline.support import (
    Connector,
    at,
    call,
    consumer_settled,
    events_at_least,
    listed,
    timeline_events,
)


async def _settled(js: JetStreamContext) -> bool:
    return await consumer_settled(js)


async def test_every_event_type_is_stored_and_announced(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    await chat.started("c1", at(0))
    await chat.message("c1", at(1), "Where is my order?", message_id="m1")
    await chat.message("c1", at(2), "Let me check.", sender="ai", sender_name="Assistant", message_id="m2")
    await chat.escalated("c1", "e1", at(3), "customer asked for a human")
    await chat.handled("c1", "e1", at(4), "Sara")
    await chat.closed("c1", at(5), by="human", name="Sara")
    await wait_for(lambda: _settled(js), what="events applied")

    assert await listed(nc, timeline.LIST_CONVERSATIONS, ws, chat.customer_id) == [
        {
            "id": "c1",
            "platform": "whatsapp",
            "started_at": "2025-03-01T09:00:00Z",
            "ended_at": "2025-03-01T09:00:05Z",
            "status": "closed",
            "summary": None,
            "sentiment": None,
            "topics": [],
            "resolution": {
                "resolved_by": {"type": "human", "name": "Sara"},
                "resolved_at": "2025-03-01T09:00:05Z",
            },
            "chat_url": chat_url("whatsapp", chat.user, "c1"),
        }
    ]
    assert await listed(nc, timeline.LIST_ESCALATIONS, ws, chat.customer_id) == [
        {
            "id": "e1",
            "conversation_id": "c1",
            "platform": "whatsapp",
            "escalated_at": "2025-03-01T09:00:03Z",
            "reason": "customer asked for a human",
            "handled_by": "Sara",
            "handled_at": "2025-03-01T09:00:04Z",
            "resolution": {
                "resolved_by": {"type": "human", "name": "Sara"},
                "resolved_at": "2025-03-01T09:00:05Z",
            },
        }
    ]
    transcript = await call(
        nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 1000}
    )
    assert transcript["customer_id"] == chat.customer_id
    assert [(m["sender"], m["sender_name"], m["text"]) for m in transcript["messages"]] == [
        ("customer", None, "Where is my order?"),
        ("ai", "Assistant", "Let me check."),
    ]
    assert transcript["truncated"] is False
    counts = await call(nc, timeline.COUNT_TIMELINE, {"workspace": ws, "customer_id": chat.customer_id})
    assert counts == {"conversations": 1, "escalations": 1, "escalation_rate": 1.0}

    # What the gateway refreshes its view on, and what insights analyses on.
    closed = await wait_for(
        lambda: timeline_events(js, ws, timeline.CONVERSATION_CLOSED), what="close announced"
    )
    assert [e["data"] for e in closed] == [
        {
            "conversation_id": "c1",
            "customer_id": chat.customer_id,
            "platform": "whatsapp",
            "closed_at": "2025-03-01T09:00:05Z",
        }
    ]
    started = await timeline_events(js, ws, timeline.CONVERSATION_STARTED)
    assert [e["data"]["customer_id"] for e in started] == [chat.customer_id]
    changed = await wait_for(
        lambda: events_at_least(js, ws, timeline.ESCALATION_CHANGED, 2), what="escalation changes announced"
    )
    assert [e["data"]["handled"] for e in changed] == [False, True]


async def test_events_before_their_conversation_or_escalation_converge(
    timeline_service: ServiceRuntime, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    chat = Connector(js, ws, platform="instagram", user="dana.k")
    # Close, a message and the handling arrive before conversation.started and the escalation.
    await chat.closed("c1", at(50), by="ai", name=None)
    await chat.message("c1", at(20), "hello?", message_id="m1")
    await chat.handled("c1", "e1", at(40), "Omar")
    await wait_for(lambda: _settled(js), what="early events applied")
    early = await listed(nc, timeline.LIST_CONVERSATIONS, ws, chat.customer_id)
    assert [(c["id"], c["started_at"], c["status"]) for c in early] == [
        ("c1", "2025-03-01T09:00:20Z", "closed")
    ]
    # An escalation is listed and counted only once conversation.escalated says why and when.
    assert await listed(nc, timeline.LIST_ESCALATIONS, ws, chat.customer_id) == []

    await chat.escalated("c1", "e1", at(30), "angry customer")
    await chat.started("c1", at(10))
    await wait_for(lambda: _settled(js), what="late events applied")
    [conversation] = await listed(nc, timeline.LIST_CONVERSATIONS, ws, chat.customer_id)
    assert conversation["started_at"] == "2025-03-01T09:00:10Z"
    assert conversation["ended_at"] == "2025-03-01T09:00:50Z"
    assert conversation["resolution"] == {
        "resolved_by": {"type": "ai", "name": None},
        "resolved_at": "2025-03-01T09:00:50Z",
    }
    assert conversation["chat_url"] == chat_url("instagram", "dana.k", "c1")
    [escalation] = await listed(nc, timeline.LIST_ESCALATIONS, ws, chat.customer_id)
    assert (escalation["reason"], escalation["handled_by"], escalation["handled_at"]) == (
        "angry customer",
        "Omar",
        "2025-03-01T09:00:40Z",
    )


async def test_a_long_message_is_stored_cut_and_flagged(
    timeline_service: ServiceRuntime, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    chat = Connector(js, ws, platform="web", user="visitor-7")
    await chat.message("c1", at(1), "é" * 10_000, message_id="fits")
    await chat.message("c1", at(2), "x" * 10_000 + "TAIL", message_id="long")
    await wait_for(lambda: _settled(js), what="messages applied")
    transcript = await call(
        nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 100_000}
    )
    assert [(len(m["text"]), m["text_truncated"]) for m in transcript["messages"]] == [
        (10_000, False),
        (10_000, True),
    ]
    assert transcript["messages"][1]["text"] == "x" * 10_000


async def test_invalid_events_are_set_aside_without_blocking_the_rest(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    await publish_event(js, ws, "conversation.message", b"{not json", msg_id="bad-json")
    await publish_event(
        js, ws, "conversation.started", connector_event("whatsapp", chat.user), msg_id="no-conversation-id"
    )
    await publish_event(
        js,
        ws,
        "conversation.closed",
        connector_event("whatsapp", chat.user, conversation_id="c1", resolved_by={"type": "robot"}),
        msg_id="bad-resolver",
    )
    await publish_event(
        js,
        ws,
        "conversation.message",
        connector_event(
            "whatsapp", chat.user, conversation_id="c1", message_id="m0", sender="customer", text="a\x00b"
        ),
        msg_id="nul-text",
    )
    await chat.started("c1", at(0))
    await chat.message("c1", at(1), "still flowing", message_id="m1")

    await wait_for(lambda: _dead_letters(js, 4), what="four invalid events set aside")
    await wait_for(lambda: _settled(js), what="valid events applied")
    letters = await list_dead_letters(js, "timeline")
    assert sorted(letter.original_subject.rsplit(".", 1)[1] for letter in letters) == [
        "closed",
        "message",
        "message",
        "started",
    ]
    assert all(letter.consumer == "timeline-chat" and letter.deliveries == 1 for letter in letters)
    transcript = await call(
        nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 100}
    )
    assert [m["text"] for m in transcript["messages"]] == ["still flowing"]


async def _dead_letters(js: JetStreamContext, count: int) -> bool:
    return len(await list_dead_letters(js, "timeline")) >= count


async def test_workspaces_never_see_each_other(
    timeline_service: ServiceRuntime, js: JetStreamContext, nc: NATS
) -> None:
    first, second = new_workspace(), new_workspace()
    # The same platform user and the same conversation id in two workspaces.
    mine, theirs = Connector(js, first), Connector(js, second)
    await mine.started("c1", at(0))
    await mine.message("c1", at(1), "mine", message_id="m1")
    await mine.escalated("c1", "e1", at(2), "mine")
    await theirs.started("c1", at(100))
    await theirs.message("c1", at(101), "theirs", message_id="m1")
    await wait_for(lambda: _settled(js), what="events applied")

    assert mine.customer_id != theirs.customer_id
    assert [
        c["started_at"] for c in await listed(nc, timeline.LIST_CONVERSATIONS, second, theirs.customer_id)
    ] == ["2025-03-01T09:01:40Z"]
    # Another workspace's customer id answers as an unknown customer: nothing, and zeros.
    assert await listed(nc, timeline.LIST_CONVERSATIONS, second, mine.customer_id) == []
    assert await listed(nc, timeline.LIST_ESCALATIONS, second, mine.customer_id) == []
    assert await call(
        nc, timeline.COUNT_TIMELINE, {"workspace": second, "customer_id": mine.customer_id}
    ) == {
        "conversations": 0,
        "escalations": 0,
        "escalation_rate": 0.0,
    }
    for ws, text in ((first, "mine"), (second, "theirs")):
        transcript = await call(
            nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 50}
        )
        assert [m["text"] for m in transcript["messages"]] == [text]
    with pytest.raises(ServiceError) as raised:
        await call(
            nc,
            timeline.GET_TRANSCRIPT,
            {"workspace": new_workspace(), "conversation_id": "c1", "max_chars": 50},
        )
    assert raised.value.code == "not_found"
