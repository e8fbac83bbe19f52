"""Notes under merges and erasures, driven by the profile service's events as it publishes them."""

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.messages import notes, profile
from shared.messages.profile import ErasedIdentity, ErasureRequested
from tests.notes.support import NotesStack, notes_path
from tests.support import (
    assert_problem,
    auth,
    customer_merged,
    new_workspace,
    publish_internal,
    published,
    wait_for,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def test_a_merge_moves_every_note_and_the_source_then_names_the_target(stack: NotesStack) -> None:
    ws = new_workspace()
    target, source = await stack.add_customer(ws), await stack.add_customer(ws)
    await stack.insert_note(ws, target, NOW, "on the target")
    kept = await stack.insert_note(ws, source, NOW, "on the source")
    await publish_internal(stack.js, profile.CUSTOMER_MERGED, ws, customer_merged(target, source, NOW))

    async def moved() -> bool:
        return bool(await stack.count(ws, target) == {"count": 2})

    await wait_for(moved, what="the source's note counted on the target")
    client = stack.gateway.client
    for response in (
        await client.get(notes_path(source), headers=auth(ws)),
        await client.post(notes_path(source), json={"text": "late"}, headers=auth(ws)),
        await client.delete(f"{notes_path(source)}/{kept.id}", headers=auth(ws)),
    ):
        assert assert_problem(response, 404)["merged_into"] == target
    # The note moved, still its author's to delete, now under the target.
    assert (await client.delete(f"{notes_path(target)}/{kept.id}", headers=auth(ws))).status_code == 204


async def test_an_erasure_deletes_every_note_and_confirms(stack: NotesStack) -> None:
    ws = new_workspace()
    customer, other = await stack.add_customer(ws), await stack.add_customer(ws)
    deleted = await stack.insert_note(ws, customer, NOW, "deleted, but still kept for audit")
    await stack.insert_note(ws, customer, NOW, "lives at 12 Palm Street")
    await stack.insert_note(ws, other, NOW, "someone else")
    removal = await stack.gateway.client.delete(f"{notes_path(customer)}/{deleted.id}", headers=auth(ws))
    assert removal.status_code == 204
    erasure = ErasureRequested(
        erasure_id=str(uuid.uuid4()),
        customer_id=customer,
        customer_ids=[uuid.UUID(customer)],
        identities=[ErasedIdentity(identity_key=uuid.uuid4(), epoch=1, customer_id=uuid.uuid4())],
        requested_at=NOW,
    )
    await publish_internal(stack.js, profile.ERASURE_REQUESTED, ws, erasure)

    async def confirmed() -> list[dict[str, Any]]:
        return await published(stack.js, notes.CUSTOMER_ERASED, ws)

    [confirmation] = await wait_for(confirmed, what="the erasure confirmed")
    assert confirmation["data"] == {"customer_id": customer, "erasure_id": erasure.erasure_id}
    texts = [row["text"] for row in await stack.pool.fetch("SELECT text FROM notes WHERE workspace = $1", ws)]
    assert texts == ["someone else"]
    # Announced again (a replayed outbox row), the erased customer is not learnt again.
    await stack.announce_customer(
        ws,
        {"customer_id": customer, "created_at": NOW.isoformat(), "platform": "web", "platform_user_id": "v"},
        uuid.uuid4().hex,
    )
    later = await stack.add_customer(ws)
    assert await stack.knows(ws, uuid.UUID(later))
    assert not await stack.knows(ws, uuid.UUID(customer))
