"""Insights under merges and erasures, driven by the profile service's events as it publishes them."""

import uuid
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.insights.handlers import CLOSED_CONSUMER
from services.insights.repository import analyses_of, stored_profile
from services.insights.service import average_sentiment, rebuild_profile
from shared.deadletter import list_dead_letters
from shared.messages import insights, profile
from shared.messages.profile import ErasedIdentity, ErasureRequested
from shared.runtime import ServiceRuntime
from tests.insights.support import TimelineStandIn, closed_event, labelled, publish_closed
from tests.insights.test_insights_service import drained, insights_of
from tests.support import customer_merged, new_workspace, publish_internal, published, wait_for

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _counted(nc: NATS, workspace: str, customer_id: str, conversations: int) -> Any:
    async def probe() -> bool:
        found = await insights_of(nc, workspace, customer_id)
        return bool(found["sentiment"]["conversations"] == conversations)

    return probe


async def _two_analysed(
    timeline: TimelineStandIn, js: JetStreamContext, nc: NATS, first: tuple[str, str], second: tuple[str, str]
) -> tuple[str, str, str]:
    """One closed conversation (id, labelled conversation) of each of two new customers analysed
    by the running insights: (workspace, first customer, second customer)."""
    ws, customers = new_workspace(), (str(uuid.uuid4()), str(uuid.uuid4()))
    for customer, (conversation_id, label) in zip(customers, (first, second), strict=True):
        timeline.add(ws, conversation_id, customer, labelled(label))
        await publish_closed(js, closed_event(ws, conversation_id, customer))
    for customer in customers:
        await wait_for(_counted(nc, ws, customer, 1), what="each customer's conversation analysed")
    return ws, *customers


async def test_a_merge_moves_the_analyses_and_computes_the_targets_insights_over_both(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws, target, source = await _two_analysed(
        timeline, js, nc, ("t1", "pos-order-tracking"), ("s1", "neg-late-delivery")
    )
    await publish_internal(js, profile.CUSTOMER_MERGED, ws, customer_merged(target, source, NOW))
    await wait_for(lambda: published(js, insights.CUSTOMER_MERGED, ws), what="the merge applied")

    assert runtime.pool is not None
    async with runtime.pool.acquire() as conn:
        analyses = await analyses_of(conn, ws, target)
        assert sorted(conversation for conversation, _, _ in analyses.facts) == ["s1", "t1"]
        assert await stored_profile(conn, ws, target) == rebuild_profile(analyses.facts)
    both = await insights_of(nc, ws, target)
    assert both["sentiment"] == average_sentiment(analyses.scores).model_dump(mode="json")
    assert both["sentiment"]["conversations"] == 2
    assert (await insights_of(nc, ws, source))["sentiment"]["conversations"] == 0

    # A close announced under the source before the timeline applied the merge: the target's.
    timeline.add(ws, "s2", target, labelled("neu-invoice"))
    await publish_closed(js, closed_event(ws, "s2", source))
    await wait_for(_counted(nc, ws, target, 3), what="the late close analysed under the target")
    assert (await insights_of(nc, ws, source))["sentiment"]["conversations"] == 0


async def test_an_erasure_deletes_the_analyses_and_later_closes_of_the_customer_are_dropped(
    runtime: ServiceRuntime, timeline: TimelineStandIn, js: JetStreamContext, nc: NATS
) -> None:
    ws, customer, other = await _two_analysed(
        timeline, js, nc, ("c1", "pos-order-tracking"), ("o1", "neg-late-delivery")
    )
    erasure = ErasureRequested(
        erasure_id=str(uuid.uuid4()),
        customer_id=customer,
        customer_ids=[uuid.UUID(customer)],
        identities=[ErasedIdentity(identity_key=uuid.UUID(customer), epoch=1, customer_id=uuid.uuid4())],
        requested_at=NOW,
    )
    await publish_internal(js, profile.ERASURE_REQUESTED, ws, erasure)
    [confirmed] = await wait_for(
        lambda: published(js, insights.CUSTOMER_ERASED, ws), what="erasure confirmed"
    )
    assert confirmed["data"] == {"customer_id": customer, "erasure_id": erasure.erasure_id}

    assert runtime.pool is not None
    for table in ("conversation_analyses", "customer_insights"):
        owners = await runtime.pool.fetch(f"SELECT customer_id FROM {table} WHERE workspace = $1", ws)
        assert [row["customer_id"] for row in owners] == [other], table
    # Of what insights published and keeps (its outbox), only the confirmation names the customer.
    outbox = await runtime.pool.fetch("SELECT payload FROM outbox WHERE payload ->> 'workspace' = $1", ws)
    naming = [
        row["payload"]["type"] for row in outbox if row["payload"]["data"].get("customer_id") == customer
    ]
    assert naming == [insights.CUSTOMER_ERASED.name]

    # Closes of the erased customer that come late are dropped, not analysed into a new row: one
    # the timeline still has, and one it has deleted already (no transcript: not a dead letter).
    timeline.add(ws, "c2", customer, labelled("neu-invoice"))
    await publish_closed(js, closed_event(ws, "c2", customer))
    del timeline.transcripts[(ws, "c1")]
    await publish_closed(js, closed_event(ws, "c1", customer))
    timeline.add(ws, "o2", other, labelled("neu-invoice"))
    await publish_closed(js, closed_event(ws, "o2", other))
    await wait_for(_counted(nc, ws, other, 2), what="a later close analysed")
    await wait_for(lambda: drained(js, "TIMELINE", CLOSED_CONSUMER), what="every close handled")
    assert (
        await runtime.pool.fetchval(
            "SELECT count(*) FROM conversation_analyses WHERE customer_id = $1", customer
        )
        == 0
    )
    assert await list_dead_letters(js, "insights") == []
