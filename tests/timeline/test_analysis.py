"""Close → analysis → stored: the timeline announces closes and keeps what insights concluded."""

from datetime import datetime, timedelta
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.deadletter import list_dead_letters
from shared.events import utcnow
from shared.jsonutil import dumps
from shared.messages import insights, timeline
from tests.support import wait_for
from tests.timeline.support import (
    Connector,
    at,
    call,
    consumer_settled,
    events_at_least,
    publish_analysis,
    timeline_events,
)


def _analysis(
    closed: dict[str, Any], summary: str, when: datetime, **fields: Any
) -> insights.ConversationAnalysed:
    values: dict[str, Any] = {
        "conversation_id": closed["data"]["conversation_id"],
        "customer_id": closed["data"]["customer_id"],
        "summary": summary,
        "sentiment": "positive",
        "sentiment_score": 0.6,
        "topics": ["delivery", "refund"],
        "analysed_at": when,
        "analyser": "stand-in",
        **fields,
    }
    return insights.ConversationAnalysed(**values)


async def _only_conversation(nc: NATS, workspace: str, customer_id: str) -> dict[str, Any]:
    page = await call(nc, timeline.LIST_CONVERSATIONS, {"workspace": workspace, "customer_id": customer_id})
    [item] = page["items"]
    result: dict[str, Any] = item
    return result


async def test_close_is_analysed_and_the_newest_analysis_is_kept(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    await chat.started("c1", at(0))
    await chat.message("c1", at(1), "My parcel is late", message_id="m1")
    await chat.closed("c1", at(2))

    # The stand-in analyser: sees the close on TIMELINE, reads the transcript, publishes its analysis.
    [closed] = await wait_for(
        lambda: events_at_least(js, ws, timeline.CONVERSATION_CLOSED, 1), what="close announced"
    )
    transcript = await call(
        nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 60_000}
    )
    assert [m["text"] for m in transcript["messages"]] == ["My parcel is late"]
    first_at = utcnow()
    event_id = await publish_analysis(js, ws, _analysis(closed, "Late parcel, \x00refunded", first_at))

    stored = await wait_for(
        lambda: _analysed(nc, ws, chat.customer_id, "Late parcel, refunded"), what="analysis stored"
    )
    assert (stored["sentiment"], stored["topics"], stored["status"]) == (
        "positive",
        ["delivery", "refund"],
        "closed",
    )
    [updated] = await wait_for(
        lambda: events_at_least(js, ws, timeline.CONVERSATION_UPDATED, 1), what="update announced"
    )
    assert updated["data"]["customer_id"] == chat.customer_id
    assert updated["data"]["conversation_id"] == "c1"

    # A duplicate and an older analysis change nothing; a newer one replaces it.
    await publish_analysis(
        js, ws, _analysis(closed, "Late parcel, refunded", first_at), event_id=f"{event_id}-again"
    )
    await publish_analysis(
        js, ws, _analysis(closed, "stale", first_at - timedelta(hours=1), sentiment="negative", topics=[])
    )
    await wait_for(
        lambda: consumer_settled(js, "timeline-insights", "INSIGHTS"), what="older analyses consumed"
    )
    assert (await _only_conversation(nc, ws, chat.customer_id))["summary"] == "Late parcel, refunded"
    assert len(await timeline_events(js, ws, timeline.CONVERSATION_UPDATED)) == 1
    await publish_analysis(
        js,
        ws,
        _analysis(
            closed, "Re-analysed", first_at + timedelta(seconds=1), sentiment=None, topics=[" a ", "a"]
        ),
    )
    newer = await wait_for(lambda: _analysed(nc, ws, chat.customer_id, "Re-analysed"), what="newer analysis")
    assert (newer["sentiment"], newer["topics"]) == (None, ["a"])


async def _analysed(nc: NATS, ws: str, customer_id: str, summary: str) -> dict[str, Any]:
    conversation = await _only_conversation(nc, ws, customer_id)
    return conversation if conversation["summary"] == summary else {}


async def test_a_message_after_the_close_announces_the_close_again(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    await chat.message("c1", at(1), "thanks", message_id="m1")
    await chat.closed("c1", at(2))
    [first] = await wait_for(
        lambda: events_at_least(js, ws, timeline.CONVERSATION_CLOSED, 1), what="close announced"
    )

    await chat.message("c1", at(3), "one more thing", message_id="m2")
    # The same message again (a connector retry under a new event id) is not new: no third close.
    await chat.message("c1", at(3), "one more thing", message_id="m2")
    closes = await wait_for(
        lambda: events_at_least(js, ws, timeline.CONVERSATION_CLOSED, 2), what="close announced again"
    )
    await wait_for(lambda: consumer_settled(js), what="retry applied")
    assert len(await timeline_events(js, ws, timeline.CONVERSATION_CLOSED)) == 2
    assert closes[1]["event_id"] != first["event_id"]
    assert closes[1]["data"] == first["data"]
    transcript = await call(
        nc, timeline.GET_TRANSCRIPT, {"workspace": ws, "conversation_id": "c1", "max_chars": 100}
    )
    assert [m["text"] for m in transcript["messages"]] == ["thanks", "one more thing"]
    assert (await _only_conversation(nc, ws, chat.customer_id))["status"] == "closed"


async def test_an_invalid_analysis_is_set_aside(chat: Connector, js: JetStreamContext, nc: NATS) -> None:
    ws = chat.workspace
    await chat.closed("c1", at(1))
    [closed] = await wait_for(
        lambda: events_at_least(js, ws, timeline.CONVERSATION_CLOSED, 1), what="close announced"
    )
    await js.publish(
        f"insights.v1.{ws}.conversation.analysed", b"[]", headers={"Nats-Msg-Id": "not-an-envelope"}
    )
    bad = {
        "event_id": "bad-data",
        "occurred_at": utcnow().isoformat(),
        "workspace": ws,
        "type": insights.CONVERSATION_ANALYSED.name,
        "data": {"conversation_id": "c1", "sentiment": "ecstatic"},
    }
    await js.publish(
        f"insights.v1.{ws}.conversation.analysed",
        dumps(bad),
        headers={"Nats-Msg-Id": "bad-data"},
    )
    await publish_analysis(js, ws, _analysis(closed, "fine", utcnow()))

    await wait_for(lambda: _analysed(nc, ws, chat.customer_id, "fine"), what="valid analysis stored")
    letters = await wait_for(lambda: _letters(js, 2), what="invalid analyses set aside")
    assert {letter.consumer for letter in letters} == {"timeline-insights"}
    assert all(letter.deliveries == 1 for letter in letters)


async def _letters(js: JetStreamContext, count: int) -> list[Any]:
    letters = await list_dead_letters(js, "timeline")
    return letters if len(letters) >= count else []
