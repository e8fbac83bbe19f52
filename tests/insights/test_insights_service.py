"""The insights service on real NATS and PostgreSQL: closes in, analyses stored and announced."""

from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from services.insights.handlers import CLOSED_CONSUMER, REANALYSIS_CONSUMER
from services.insights.reanalyse import request_reanalysis
from shared.deadletter import DeadLetter, list_dead_letters
from shared.errors import ServiceError
from shared.messages.insights import CONVERSATION_ANALYSED, CUSTOMER_INSIGHTS_UPDATED, GET_INSIGHTS
from shared.runtime import ServiceRuntime
from tests.insights.conftest import InsightsStarter
from tests.insights.support import (
    ChatCompletionsServer,
    Reply,
    TimelineStandIn,
    analysis_answer,
    closed_event,
    labelled,
    publish_closed,
    stream_events,
)
from tests.support import call_json, new_workspace, wait_for


def _pool(runtime: ServiceRuntime) -> asyncpg.Pool:
    assert runtime.pool is not None
    return runtime.pool


async def insights_of(nc: NATS, workspace: str, customer_id: str) -> dict[str, Any]:
    """What the gateway and the profile service get for a customer."""
    result: dict[str, Any] = await call_json(
        nc, GET_INSIGHTS, {"workspace": workspace, "customer_id": customer_id}
    )
    return result


async def analyses(runtime: ServiceRuntime, workspace: str) -> list[asyncpg.Record]:
    """The stored analyses of a workspace, by conversation id."""
    return await _pool(runtime).fetch(
        "SELECT * FROM conversation_analyses WHERE workspace = $1 ORDER BY conversation_id", workspace
    )


async def stored_profile(runtime: ServiceRuntime, workspace: str, customer_id: str) -> dict[str, Any]:
    """The AI profile as stored, with each item's conversation ids."""
    profile: dict[str, Any] = await _pool(runtime).fetchval(
        "SELECT ai_profile FROM customer_insights WHERE workspace = $1 AND customer_id = $2",
        workspace,
        customer_id,
    )
    return profile


def item_ids(profile: dict[str, Any], section: str) -> dict[str, list[str]]:
    """Text → conversation ids of one stored section."""
    return {item["text"]: item["conversation_ids"] for item in profile[section]}


async def acked(js: JetStreamContext, stream: str, durable: str, count: int) -> bool:
    """Whether the consumer has acknowledged `count` deliveries and holds none pending."""
    info = await js.consumer_info(stream, durable)
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    return (floor or 0) >= count and info.num_ack_pending == 0


async def drained(js: JetStreamContext, stream: str, durable: str, deliveries: int = 0) -> bool:
    """Whether the consumer has made `deliveries` deliveries in all and acknowledged everything.

    For a stream that holds other subjects too (INSIGHTS holds the analyses it announces), where
    the ack floor's stream sequence says nothing about how many of the consumer's own were acked.
    The delivery count guards against the pending counts, which can lag a publication JetStream
    has already acknowledged (a loaded run read them at zero with a reanalysis still to come).
    """
    info = await js.consumer_info(stream, durable)
    return _delivered(info) >= deliveries and info.num_pending == 0 and info.num_ack_pending == 0


async def deliveries_of(js: JetStreamContext, stream: str, durable: str) -> int:
    """How many deliveries the consumer has made so far."""
    return _delivered(await js.consumer_info(stream, durable))


def _delivered(info: ConsumerInfo) -> int:
    return (info.delivered.consumer_seq or 0) if info.delivered else 0


async def test_a_close_is_analysed_stored_announced_and_merged_into_the_customer(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws, alice, bob = new_workspace(), "customer-alice", "customer-bob"
    timeline.add(ws, "conv-1", alice, labelled("pos-order-tracking"))
    timeline.add(ws, "conv-2", alice, labelled("neg-late-delivery"))
    timeline.add(ws, "conv-3", bob, labelled("pos-bulk-discount"))

    # Unknown customer: an answer, not not_found.
    assert await insights_of(nc, ws, alice) == {
        "ai_profile": None,
        "sentiment": {"average": None, "label": None, "conversations": 0},
    }
    with pytest.raises(ServiceError) as invalid:
        await call_json(nc, GET_INSIGHTS, {"workspace": ws})
    assert invalid.value.code == "invalid"

    await publish_closed(js, closed_event(ws, "conv-1", alice))
    first = await wait_for(lambda: _with_profile(nc, ws, alice), what="first analysis")
    [row] = await analyses(runtime, ws)
    assert (row["conversation_id"], row["customer_id"], row["sentiment"]) == ("conv-1", alice, "positive")
    assert (row["analyser"], row["degraded"], row["language"]) == ("embedded", False, "en")
    assert first["sentiment"] == {"average": row["sentiment_score"], "label": "positive", "conversations": 1}
    assert "Contacts support via WhatsApp" in first["ai_profile"]["communication_preferences"]
    assert timeline.requests[0] == {"workspace": ws, "conversation_id": "conv-1", "max_chars": 60_000}

    analysed = await wait_for(
        lambda: stream_events(js, "INSIGHTS", CONVERSATION_ANALYSED.subject(ws)),
        what="conversation.analysed published",
    )
    assert len(analysed) == 1
    data = analysed[0]["data"]
    assert (data["conversation_id"], data["customer_id"], data["sentiment"]) == ("conv-1", alice, "positive")
    assert data["summary"].startswith("The customer asked about an order and a delivery (order #48213")
    assert {"orders", "shipping"} <= set(data["topics"])
    updated = await wait_for(
        lambda: stream_events(js, "INSIGHTS", CUSTOMER_INSIGHTS_UPDATED.subject(ws)),
        what="customer.updated published",
    )
    assert updated[0]["data"]["insights"]["sentiment"] == first["sentiment"]

    await publish_closed(js, closed_event(ws, "conv-2", alice))
    second = await wait_for(lambda: _with_conversations(nc, ws, alice, 2), what="second analysis")
    rows = await analyses(runtime, ws)
    mean = round(sum(r["sentiment_score"] for r in rows) / 2, 4)
    assert second["sentiment"]["average"] == mean
    assert second["sentiment"]["label"] == (
        "positive" if mean >= 0.05 else "negative" if mean <= -0.05 else "neutral"
    )

    # Merged from the stored profile: each item knows which conversations it came from.
    profile = await stored_profile(runtime, ws, alice)
    assert item_ids(profile, "communication_preferences")["Contacts support via WhatsApp"] == [
        "conv-1",
        "conv-2",
    ]
    assert item_ids(profile, "key_characteristics")["At risk of leaving"] == ["conv-2"]
    # conv-1 found the customer friendly, the later conv-2 frustrated: only the current trait stays.
    assert item_ids(profile, "key_characteristics")["Expresses frustration openly"] == ["conv-2"]
    assert "Friendly and appreciative" not in item_ids(profile, "key_characteristics")
    # The RPC shows texts only.
    assert "At risk of leaving" in second["ai_profile"]["key_characteristics"]
    assert "conv-2" not in str(second)

    await publish_closed(js, closed_event(ws, "conv-3", bob, platform="web"))
    bobs = await wait_for(lambda: _with_profile(nc, ws, bob), what="bob analysed")
    assert "Buys in bulk" in bobs["ai_profile"]["purchase_behavior"]
    alices = await insights_of(nc, ws, alice)
    assert alices == second
    assert "Buys in bulk" not in alices["ai_profile"]["purchase_behavior"]


async def _with_profile(nc: NATS, ws: str, customer_id: str) -> dict[str, Any]:
    result = await insights_of(nc, ws, customer_id)
    return result if result["ai_profile"] is not None else {}


async def _with_conversations(nc: NATS, ws: str, customer_id: str, count: int) -> dict[str, Any]:
    result = await insights_of(nc, ws, customer_id)
    return result if result["sentiment"]["conversations"] >= count else {}


async def test_a_redelivered_close_is_applied_once_and_a_new_close_replaces_the_analysis(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws, customer = new_workspace(), "customer-carla"
    timeline.add(ws, "conv-1", customer, labelled("pos-refund-confirmed"))
    event = closed_event(ws, "conv-1", customer)
    # Different Nats-Msg-Ids get past the stream's dedup: only the inbox stands in the way.
    await publish_closed(js, event, msg_id="first")
    await publish_closed(js, event, msg_id="second")
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 2), what="both copies acknowledged")

    [row] = await analyses(runtime, ws)
    before = await insights_of(nc, ws, customer)
    assert before["sentiment"]["conversations"] == 1
    assert before["sentiment"]["average"] == row["sentiment_score"]
    await wait_for(
        lambda: stream_events(js, "INSIGHTS", CONVERSATION_ANALYSED.subject(ws)),
        what="announcement",
    )
    assert len(await stream_events(js, "INSIGHTS", CONVERSATION_ANALYSED.subject(ws))) == 1
    assert "Has returned items" in before["ai_profile"]["purchase_behavior"]

    # Messages after the close: the timeline closes it again with a new event; one row, replaced.
    timeline.add(ws, "conv-1", customer, labelled("mix-partial-refund"))
    await publish_closed(js, closed_event(ws, "conv-1", customer))
    after = await wait_for(lambda: _label_is(nc, ws, customer, "negative"), what="re-analysis stored")
    [replaced] = await analyses(runtime, ws)
    assert replaced["sentiment"] == "negative"
    assert after["sentiment"] == {
        "average": replaced["sentiment_score"],
        "label": "negative",
        "conversations": 1,
    }
    # What only the first analysis said is withdrawn with it.
    assert "Has returned items" not in after["ai_profile"]["purchase_behavior"]


async def test_a_close_announced_again_without_new_messages_is_not_analysed_again(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws, customer = new_workspace(), "customer-dora"
    timeline.add(ws, "conv-1", customer, labelled("pos-refund-confirmed"))
    await publish_closed(js, closed_event(ws, "conv-1", customer))
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 1), what="first close analysed")
    [first] = await analyses(runtime, ws)

    # The timeline announces the close again (a new event) but the transcript has not changed.
    await publish_closed(js, closed_event(ws, "conv-1", customer))
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 2), what="second close handled")
    [again] = await analyses(runtime, ws)
    assert (again["analysed_at"], again["source_event_id"]) == (
        first["analysed_at"],
        first["source_event_id"],
    )
    announced = await stream_events(js, "INSIGHTS", CONVERSATION_ANALYSED.subject(ws))
    assert len(announced) == 1


async def _label_is(nc: NATS, ws: str, customer_id: str, label: str) -> dict[str, Any]:
    result = await insights_of(nc, ws, customer_id)
    return result if result["sentiment"]["label"] == label else {}


async def test_reanalysing_a_workspace_twice_changes_nothing_but_the_analysis_time(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    cases = [("conv-1", "dina", "neu-change-address"), ("conv-2", "dina", "mix-price-increase")]
    cases.append(("conv-3", "emil", "neg-app-crash"))
    for conversation_id, customer_id, labelled_id in cases:
        timeline.add(ws, conversation_id, customer_id, labelled(labelled_id))
        await publish_closed(js, closed_event(ws, conversation_id, customer_id))
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 3), what="three closes analysed")
    rows_before = await analyses(runtime, ws)
    profile_before = await stored_profile(runtime, ws, "dina")
    insights_before = await insights_of(nc, ws, "dina")
    delivered_before = await deliveries_of(js, "INSIGHTS", REANALYSIS_CONSUMER)

    progress: list[tuple[str, int, int]] = []
    only_dina = await request_reanalysis(
        _pool(runtime), js, workspace=ws, customer_id="dina", rate=200, progress=lambda *p: progress.append(p)
    )
    assert [c.conversation_id for c in only_dina] == ["conv-1", "conv-2"]
    assert progress == [("requested", 1, 2), ("requested", 2, 2)]
    everyone = await request_reanalysis(_pool(runtime), js, workspace=ws, rate=200)
    assert len(everyone) == 3
    five_more = delivered_before + 5
    await wait_for(lambda: drained(js, "INSIGHTS", REANALYSIS_CONSUMER, five_more), what="reanalyses applied")

    rows_after = await analyses(runtime, ws)
    assert len(rows_after) == 3
    for before, after in zip(rows_before, rows_after, strict=True):
        assert after["analysed_at"] > before["analysed_at"]
        assert (after["summary"], after["sentiment_score"], after["topics"]) == (
            before["summary"],
            before["sentiment_score"],
            before["topics"],
        )
        assert after["closed_at"] == before["closed_at"]
    assert await stored_profile(runtime, ws, "dina") == profile_before
    after_insights = await insights_of(nc, ws, "dina")
    assert after_insights["sentiment"] == insights_before["sentiment"]
    assert after_insights["sentiment"]["conversations"] == 2


async def test_closes_that_cannot_be_analysed_are_set_aside_without_blocking_others(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    timeline.add(ws, "conv-ok", "fay", labelled("neu-invoice"))
    timeline.add(ws, "conv-other", "gus", labelled("neg-charged-twice"))
    await publish_closed(js, closed_event(ws, "conv-missing", "fay"))
    # The event says fay, the timeline says gus: analysing it would leak gus's words into fay's profile.
    await publish_closed(js, closed_event(ws, "conv-other", "fay"))
    broken = closed_event(ws, "conv-ok", "fay")
    del broken["data"]["customer_id"]
    await publish_closed(js, broken)
    await publish_closed(js, closed_event(ws, "conv-ok", "fay"))

    await wait_for(lambda: _with_profile(nc, ws, "fay"), what="the good close analysed")
    letters = await wait_for(lambda: _dead_letters(js, 3), what="three dead letters")
    missing, other, invalid = (
        letter.reason for letter in sorted(letters, key=lambda x: x.original_stream_seq)
    )
    assert missing == "timeline has no conversation conv-missing"
    assert other == "transcript of conv-other belongs to another customer than the event says"
    assert invalid.startswith("invalid conversation.closed event")
    assert all(letter.deliveries == 1 for letter in letters)
    assert [r["conversation_id"] for r in await analyses(runtime, ws)] == ["conv-ok"]
    assert await insights_of(nc, ws, "gus") == {
        "ai_profile": None,
        "sentiment": {"average": None, "label": None, "conversations": 0},
    }


async def _dead_letters(js: JetStreamContext, count: int) -> list[DeadLetter]:
    letters = await list_dead_letters(js, "insights")
    return letters if len(letters) >= count else []


async def test_with_an_llm_configured_it_degrades_while_the_llm_is_down_and_reanalysis_redoes_it(
    start_insights: InsightsStarter, js: JetStreamContext, nc: NATS, chat_server: ChatCompletionsServer
) -> None:
    chat_server.answer(Reply(status=503), Reply(analysis_answer(score=-0.5)))
    runtime, timeline = await start_insights(
        openai_base_url=chat_server.url,
        openai_model="stand-in-model",
        openai_max_retries=0,
        openai_cooldown_seconds=0,
        openai_timeout_seconds=5,
    )
    ws = new_workspace()
    timeline.add(ws, "conv-1", "hana", labelled("neg-damaged-item"))
    timeline.add(ws, "conv-2", "hana", labelled("pos-express-upgrade"))

    await publish_closed(js, closed_event(ws, "conv-1", "hana", platform="instagram"))
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 1), what="first close applied")
    [degraded] = await analyses(runtime, ws)
    assert (degraded["analyser"], degraded["degraded"], degraded["model"]) == ("embedded", True, None)
    assert degraded["sentiment"] == "negative"

    await publish_closed(js, closed_event(ws, "conv-2", "hana"))
    await wait_for(lambda: acked(js, "TIMELINE", CLOSED_CONSUMER, 2), what="second close applied")
    by_llm = (await analyses(runtime, ws))[1]
    assert (by_llm["analyser"], by_llm["degraded"], by_llm["model"]) == ("llm", False, "stand-in-model")
    assert (by_llm["prompt_tokens"], by_llm["completion_tokens"], by_llm["attempts"]) == (321, 54, 1)
    assert by_llm["latency_ms"] > 0
    # The existing profile (from conv-1 only) went to the model with conv-2, and nothing else.
    sent = chat_server.requests[-1]["messages"][1]["content"]
    assert "Contacts support via Instagram" in sent
    assert "conv-1" not in sent

    selected = await request_reanalysis(_pool(runtime), js, workspace=ws, degraded_only=True, rate=100)
    assert [c.conversation_id for c in selected] == ["conv-1"]
    await wait_for(lambda: drained(js, "INSIGHTS", REANALYSIS_CONSUMER), what="reanalysis applied")
    redone = (await analyses(runtime, ws))[0]
    assert (redone["analyser"], redone["degraded"]) == ("llm", False)
    assert await request_reanalysis(_pool(runtime), js, workspace=ws, degraded_only=True, rate=100) == []

    # An analysis that keeps failing (the model never answers valid JSON) is dead-lettered.
    chat_server.answer(Reply("I'm sorry, I can't help with that."))
    timeline.add(ws, "conv-3", "hana", labelled("neu-fit-question"))
    await publish_closed(js, closed_event(ws, "conv-3", "hana"))
    [letter] = await wait_for(lambda: _dead_letters(js, 1), what="failing analysis dead-lettered")
    assert letter.deliveries == 3
    assert "malformed model output" in letter.reason
    assert len(await analyses(runtime, ws)) == 2
