"""Adding and deleting notes through the gateway, on a running notes service."""

import asyncio
import uuid
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from shared.deadletter import list_dead_letters
from shared.ids import customer_id_for
from shared.jsonutil import loads
from shared.messages.notes import NOTE_ADDED, NOTE_DELETED, NoteChanged
from tests.notes.support import NotesStack, error_fields, notes_path
from tests.shared.holding import consumer_held
from tests.support import assert_problem, auth, connector_event, new_workspace, publish_event, wait_for

ARABIC = "ملاحظة"


async def test_text_is_1_to_2000_characters_after_trimming(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    client, headers = stack.gateway.client, auth(ws)

    async def post(text: str) -> httpx.Response:
        return await client.post(notes_path(customer), json={"text": text}, headers=headers)

    accepted = {
        "a": "a",
        "a" * 2000: "a" * 2000,
        "  \n" + "b" * 2000 + "\t ": "b" * 2000,
        "😀" * 2000: "😀" * 2000,
        (ARABIC * 400)[:2000]: (ARABIC * 400)[:2000],
    }
    for text, stored in accepted.items():
        response = await post(text)
        assert response.status_code == 201, response.text
        assert response.json()["text"] == stored

    for text in ["", "   \n\t ", "a" * 2001, "😀" * 2001, (ARABIC * 400)[:2001]]:
        assert error_fields(await post(text)) == {"text"}

    assert (await stack.count(ws, customer)) == {"count": len(accepted)}


MALFORMED_BODIES = [
    b"{not json",
    b"[]",
    b'"text"',
    b"{}",
    b'{"text": null}',
    b'{"text": 42}',
    b'{"text": "a\\u0000b"}',
    b'{"text": "a\\ud800b"}',
    b'{"text": "hi", "author": {"id": "someone-else"}}',
]


async def test_malformed_bodies_are_422(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    headers = {**auth(ws), "content-type": "application/json"}
    named = {}
    for body in MALFORMED_BODIES:
        response = await stack.gateway.client.post(notes_path(customer), content=body, headers=headers)
        named[body] = error_fields(response)
    assert named[MALFORMED_BODIES[-3]] == named[MALFORMED_BODIES[-2]] == {"text"}
    assert named[MALFORMED_BODIES[-1]] == {"author"}
    assert (await stack.count(ws, customer)) == {"count": 0}


async def test_note_is_plain_text_with_author_from_token_and_server_time(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    text = '<script>alert("x")</script> & <b>bold</b> \u2028 ملاحظة'
    response = await stack.gateway.client.post(
        notes_path(customer),
        json={"text": text},
        headers=auth(ws, sub="agent-7", name="Layla Haddad"),
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    note = response.json()
    assert set(note) == {"id", "customer_id", "text", "author", "created_at"}
    assert note["text"] == text
    assert note["customer_id"] == customer
    assert note["author"] == {"id": "agent-7", "name": "Layla Haddad"}
    assert datetime.fromisoformat(note["created_at"]).tzinfo is not None
    assert note["created_at"][-1] == "Z" or note["created_at"][-6] in "+-"

    listing = await stack.gateway.client.get(notes_path(customer), headers=auth(ws))
    assert listing.headers["content-type"] == "application/json"
    assert listing.json()["days"][0]["notes"] == [note]
    # The raw body carries the text as a JSON string, not escaped into HTML entities.
    assert "&lt;" not in listing.text and "<script>" in listing.text


async def test_ids_outside_the_workspace_or_unknown_are_404(stack: NotesStack) -> None:
    ws, other_ws = new_workspace(), new_workspace()
    customer, other_customer = await stack.add_customer(ws), await stack.add_customer(ws)
    client = stack.gateway.client
    note = (await client.post(notes_path(customer), json={"text": "mine"}, headers=auth(ws))).json()
    unknown = str(uuid.uuid4())

    assert_problem(await client.post(notes_path(unknown), json={"text": "x"}, headers=auth(ws)), 404)
    assert_problem(await client.get(notes_path(unknown), headers=auth(ws)), 404)
    assert_problem(await client.post(notes_path("not-a-uuid"), json={"text": "x"}, headers=auth(ws)), 404)
    assert_problem(await client.get(notes_path("not-a-uuid"), headers=auth(ws)), 404)
    # Another workspace sees neither the customer nor its notes, even with the note's author id.
    foreign = auth(other_ws)
    assert_problem(await client.post(notes_path(customer), json={"text": "x"}, headers=foreign), 404)
    assert_problem(await client.get(notes_path(customer), headers=foreign), 404)
    assert_problem(await client.delete(f"{notes_path(customer)}/{note['id']}", headers=foreign), 404)
    # A note addressed under another customer, a malformed or a made-up note id.
    for path in [
        f"{notes_path(other_customer)}/{note['id']}",
        f"{notes_path(customer)}/not-a-uuid",
        f"{notes_path(customer)}/{uuid.uuid4()}",
    ]:
        assert_problem(await client.delete(path, headers=auth(ws)), 404)

    assert await stack.count(ws, customer) == {"count": 1}
    assert await stack.count(other_ws, customer) == {"count": 0}
    assert await stack.count(ws, unknown) == {"count": 0}


async def test_only_the_author_deletes_and_the_note_is_kept_for_audit(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    client = stack.gateway.client
    author = auth(ws, sub="author-1")
    note = (await client.post(notes_path(customer), json={"text": "to delete"}, headers=author)).json()
    path = f"{notes_path(customer)}/{note['id']}"

    assert_problem(await client.delete(path, headers=auth(ws, sub="agent-2")), 403)
    assert_problem(await client.delete(path, headers=auth(ws, sub="admin-1", role="admin")), 403)
    assert await stack.count(ws, customer) == {"count": 1}

    response = await client.delete(path, headers=author)
    assert response.status_code == 204 and response.content == b""
    assert_problem(await client.delete(path, headers=author), 404)
    assert (await client.get(notes_path(customer), headers=author)).json() == {
        "days": [],
        "next_cursor": None,
    }
    assert await stack.count(ws, customer) == {"count": 0}
    row = await stack.pool.fetchrow(
        "SELECT deleted_at, deleted_by, text FROM notes WHERE id = $1", note["id"]
    )
    assert row is not None
    assert row["deleted_by"] == "author-1" and row["deleted_at"] is not None and row["text"] == "to delete"

    expected = NoteChanged(customer_id=customer, note_id=note["id"], author_id="author-1")
    for event_type in (NOTE_ADDED, NOTE_DELETED):
        subject = event_type.subject(ws)
        stored = await wait_for(partial(_last_event, stack, subject), what=f"{event_type.name} published")
        assert stored is not None
        assert NoteChanged.model_validate(stored["data"]) == expected


async def _last_event(stack: NotesStack, subject: str) -> dict[str, Any] | None:
    info = await stack.js.stream_info("NOTES", subjects_filter=subject)
    if not (info.state.subjects or {}).get(subject):
        return None
    message = await stack.js.get_last_msg("NOTES", subject)
    event: dict[str, Any] = loads(message.data or b"{}")
    return event


async def test_concurrent_adds_keep_every_note(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    responses = await asyncio.gather(
        *(
            stack.gateway.client.post(notes_path(customer), json={"text": f"note {i}"}, headers=auth(ws))
            for i in range(50)
        )
    )
    assert [r.status_code for r in responses] == [201] * 50
    listing = (await stack.gateway.client.get(f"{notes_path(customer)}?limit=100", headers=auth(ws))).json()
    texts = [n["text"] for day in listing["days"] for n in day["notes"]]
    assert sorted(texts) == sorted(f"note {i}" for i in range(50))
    assert await stack.count(ws, customer) == {"count": 50}


async def test_customers_are_learnt_once_and_bad_announcements_set_aside(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    await stack.announce_customer(ws, {"customer_id": "not-a-uuid"}, "bad-announcement")
    letters = await wait_for(lambda: list_dead_letters(stack.js, "notes"), what="bad event set aside")
    assert [letter.consumer for letter in letters] == ["notes-customers"]
    assert "invalid customer.created" in letters[0].reason
    # The same customer announced again (a replayed outbox row) is a no-op, not a failure.
    await stack.announce_customer(
        ws,
        {
            "customer_id": customer,
            "created_at": datetime.now().astimezone().isoformat(),
            "platform": "web",
            "platform_user_id": "v",
        },
        "second-announcement",
    )
    later = await stack.add_customer(ws)
    # `later` is known, so the events before it on the stream were handled too.
    assert await stack.pool.fetchval("SELECT count(*) FROM customers WHERE workspace = $1", ws) == 2
    assert len(await list_dead_letters(stack.js, "notes")) == 1
    assert (await stack.gateway.client.get(notes_path(later), headers=auth(ws))).status_code == 200


async def test_a_customer_the_profile_service_has_but_notes_not_yet_takes_notes(stack: NotesStack) -> None:
    ws = new_workspace()
    customer_id = customer_id_for(ws, "web", "brand-new")
    # Hold notes' consumer of customer.created: it learns of the customer only from the profile
    # service's answer, as when staff open a profile the moment it exists.
    elsewhere = {
        "customer_id": str(uuid.uuid4()),
        "created_at": datetime.now().astimezone().isoformat(),
        "platform": "web",
        "platform_user_id": "elsewhere",
    }
    send_first = partial(stack.announce_customer, new_workspace(), elsewhere, uuid.uuid4().hex)
    async with consumer_held(stack.pool, send_first):
        await publish_event(
            stack.js, ws, "contact.seen", connector_event("web", "brand-new", display_name="Ana")
        )

        async def profile_has_it() -> bool:
            response = await stack.gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
            return response.status_code == 200

        await wait_for(profile_has_it, what="customer created by the profile service")
        assert not await stack.knows(ws, customer_id)
        added = await stack.gateway.client.post(
            notes_path(str(customer_id)), json={"text": "First!"}, headers=auth(ws)
        )
        assert added.status_code == 201, added.text
        assert await stack.knows(ws, customer_id)
        listed = await stack.gateway.client.get(notes_path(str(customer_id)), headers=auth(ws))
        assert listed.status_code == 200
        assert [n["text"] for day in listed.json()["days"] for n in day["notes"]] == ["First!"]
