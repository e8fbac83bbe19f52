"""The timeline under merges and erasures, driven by the profile service's events as it publishes them."""

import uuid
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from shared.ids import customer_id_at
from shared.messages import profile, timeline
from shared.messages.profile import ErasedIdentity, ErasureRequested
from shared.runtime import ServiceRuntime
from tests.support import customer_merged, new_workspace, publish_internal, wait_for
from tests.timeline.support import Connector, at, call, consumer_settled, listed, timeline_events


async def _conversations(nc: NATS, workspace: str, customer_id: str | uuid.UUID) -> list[str]:
    return sorted(
        item["id"] for item in await listed(nc, timeline.LIST_CONVERSATIONS, workspace, str(customer_id))
    )


async def _applied(js: JetStreamContext, workspace: str, kind: Any, count: int) -> bool:
    return len(await timeline_events(js, workspace, kind)) >= count


async def test_a_merge_moves_the_sources_timeline_and_routes_its_later_events(
    timeline_service: ServiceRuntime, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    target, source = Connector(js, ws), Connector(js, ws, platform="web", user="visitor-9")
    await target.started("t1", at(1))
    await source.started("s1", at(2))
    await source.escalated("s1", "s1-e", at(3), "wants a human")
    await wait_for(lambda: consumer_settled(js), what="both histories applied")
    merged = customer_merged(target.customer_id, source.customer_id, at(100))
    await publish_internal(js, profile.CUSTOMER_MERGED, ws, merged)
    await wait_for(lambda: _applied(js, ws, timeline.CUSTOMER_MERGED, 1), what="the merge applied")

    # Late (before the merge), replayed and new events of the source's identity: all the target's.
    await source.message("s1", at(4), "one more thing")
    await source.started("s2", at(200))
    await wait_for(lambda: consumer_settled(js), what="later events applied")
    assert await _conversations(nc, ws, target.customer_id) == ["s1", "s2", "t1"]
    assert await _conversations(nc, ws, source.customer_id) == []
    escalations = await call(
        nc, timeline.LIST_ESCALATIONS, {"workspace": ws, "customer_id": target.customer_id, "limit": 10}
    )
    assert [e["id"] for e in escalations["items"]] == ["s1-e"]
    [applied] = await timeline_events(js, ws, timeline.CUSTOMER_MERGED)
    assert applied["data"] == {"customer_id": target.customer_id, "source_id": source.customer_id}


async def test_an_erasure_deletes_the_customer_and_gives_what_came_after_it_to_a_new_one(
    timeline_service: ServiceRuntime, js: JetStreamContext, nc: NATS
) -> None:
    ws = new_workspace()
    gone, kept = Connector(js, ws), Connector(js, ws, platform="web", user="visitor-kept")
    key = uuid.UUID(gone.customer_id)
    await gone.started("before", at(1))
    await gone.message("before", at(2), "my address is 12 Palm Street")
    await kept.started("other", at(3))
    requested_at = at(10)
    # A contact after the erasure was requested reaches the timeline before the erasure does.
    await gone.started("after", at(20))
    await gone.message("after", at(21), "hello again")
    await gone.closed("after", at(22))
    await wait_for(lambda: consumer_settled(js), what="events applied")
    fresh = customer_id_at(key, 1)
    erasure = ErasureRequested(
        erasure_id=str(uuid.uuid4()),
        customer_id=gone.customer_id,
        customer_ids=[key],
        identities=[ErasedIdentity(identity_key=key, epoch=1, customer_id=fresh)],
        requested_at=requested_at,
    )
    await publish_internal(js, profile.ERASURE_REQUESTED, ws, erasure)
    await wait_for(lambda: _applied(js, ws, timeline.CUSTOMER_ERASED, 1), what="the erasure applied")

    assert await _conversations(nc, ws, gone.customer_id) == []
    assert await _conversations(nc, ws, fresh) == ["after"]
    assert await _conversations(nc, ws, kept.customer_id) == ["other"]
    pool = timeline_service.pool
    assert pool is not None
    texts = [row["text"] for row in await pool.fetch("SELECT text FROM messages WHERE workspace = $1", ws)]
    assert texts == ["hello again"]
    # The new customer's conversation is announced again, so that insights analyses it as theirs.
    closed = await timeline_events(js, ws, timeline.CONVERSATION_CLOSED)
    assert closed[-1]["data"]["customer_id"] == str(fresh)
    [confirmed] = await timeline_events(js, ws, timeline.CUSTOMER_ERASED)
    assert confirmed["data"] == {"customer_id": gone.customer_id, "erasure_id": erasure.erasure_id}

    # An event of the identity from before the erasure is dropped; a later one is the new customer's.
    await gone.started("replayed", at(5))
    await gone.started("latest", at(30))
    await wait_for(lambda: consumer_settled(js), what="events after the erasure applied")
    assert await _conversations(nc, ws, fresh) == ["after", "latest"]
    assert await pool.fetchval("SELECT count(*) FROM conversations WHERE conversation_id = 'replayed'") == 0


async def test_messages_come_oldest_first_in_pages_bounded_by_count_and_size(
    chat: Connector, js: JetStreamContext, nc: NATS
) -> None:
    ws = chat.workspace
    long_text = "x" * 9_000
    for n in range(30):
        await chat.message("c", at(n), long_text if n < 20 else f"short {n}", message_id=f"m{n:02}")
    await wait_for(lambda: consumer_settled(js), what="messages applied")

    async def pages(limit: int) -> list[list[str]]:
        found: list[list[str]] = []
        cursor = None
        while True:
            page = await call(
                nc,
                timeline.LIST_MESSAGES,
                {"workspace": ws, "conversation_id": "c", "limit": limit, "cursor": cursor},
            )
            found.append([m["id"] for m in page["items"]])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    by_size = await pages(500)
    # 100,000 characters a page: twelve 9,000-character texts reach it, the twelfth included.
    assert [len(page) for page in by_size] == [12, 8 + 10]
    assert [m for page in by_size for m in page] == [f"m{n:02}" for n in range(30)]
    assert [len(page) for page in await pages(7)] == [7, 7, 7, 7, 2]
    empty = await call(nc, timeline.LIST_MESSAGES, {"workspace": ws, "conversation_id": "nope"})
    assert empty == {"items": [], "next_cursor": None}
