"""Exporting everything held about a customer through the gateway (CONTRACT.md §7)."""

from datetime import datetime, timedelta
from typing import Any

from nats.js import JetStreamContext

from tests.gateway import identity_support as people
from tests.gateway.identity_support import T0, Person, System, problem, publish_person, settled
from tests.support import auth, publish_event

# More than one page of each list: conversations, escalations and notes (100 a page), and of
# one conversation's messages (about 100,000 characters a page).
CONVERSATIONS = 104
NOTES = 103
LONG_MESSAGES = 25


async def _publish_history(js: JetStreamContext, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Many conversations, each escalated, one of them long; what was published, by conversation."""
    published: dict[str, list[dict[str, Any]]] = {}
    for n in range(CONVERSATIONS):
        conversation = f"conv-{n:03}"
        count = LONG_MESSAGES if n == 0 else 1
        messages = []
        for m in range(count):
            text = f"{conversation} message {m} " + ("é" * 9_000 if n == 0 else "where is my order?")
            event = person.event(
                T0 + timedelta(minutes=n, seconds=m),
                conversation_id=conversation,
                message_id=f"{conversation}-{m:02}",
                sender="customer" if m % 2 == 0 else "ai",
                sender_name=person.name if m % 2 == 0 else "Assistant",
                text=text,
            )
            await publish_event(js, person.workspace, "conversation.message", event)
            messages.append(event)
        escalation = person.event(
            T0 + timedelta(minutes=n, seconds=59),
            conversation_id=conversation,
            escalation_id=f"{conversation}-esc",
            reason=f"reason {n}",
        )
        await publish_event(js, person.workspace, "conversation.escalated", escalation)
        published[conversation] = messages
    return published


def _message(event: dict[str, Any]) -> dict[str, Any]:
    """A message as the export must show it."""
    return {
        "id": event["message_id"],
        "sender": event["sender"],
        "sender_name": event["sender_name"],
        "text": event["text"],
        "sent_at": event["occurred_at"],
    }


def _times_as_instants(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "sent_at": datetime.fromisoformat(item["sent_at"])} for item in items]


async def test_the_export_holds_every_item_published_and_written_without_paging(system: System) -> None:
    ws, client, headers = system.workspace, system.client, auth(system.workspace)
    person = Person(ws, "web", "visitor-export", "Export Me")
    published = await _publish_history(system.js, person)
    merged = people.dana(ws)
    await publish_person(system.js, merged)
    await system.view_when(
        person.id, lambda v: v["counts"]["conversations"] == CONVERSATIONS, "every conversation"
    )
    await system.view_when(merged.id, settled(merged), "the other identity analysed")
    written = []
    for n in range(NOTES):
        note = await client.post(
            f"/v1/customers/{person.id}/notes", json={"text": f"note {n}"}, headers=headers
        )
        assert note.status_code == 201
        written.append(note.json())
    await system.merge(person, merged)
    total = CONVERSATIONS + len(merged.conversations)
    await system.view_when(
        person.id,
        lambda v: (
            v["counts"] == {"notes": NOTES, "conversations": total, "escalations": total}
            and v["header"]["sentiment"]["conversations"] == 1
        ),
        "the merged customer's history too",
    )

    response = await client.get(f"/v1/customers/{person.id}/export", headers=auth(ws, role="admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="customer-{person.id}.json"'
    export = response.json()
    assert set(export) == {"exported_at", "customer", "notes", "conversations", "escalations"}
    assert export["customer"] == (await system.view(person.id)).json()
    assert sorted(n["id"] for n in export["notes"]) == sorted(n["id"] for n in written)
    assert {n["text"] for n in export["notes"]} == {f"note {n}" for n in range(NOTES)}

    conversations = {c["id"]: c for c in export["conversations"]}
    assert set(conversations) == {*published, *merged.conversations}
    for conversation, events in published.items():
        assert _times_as_instants(conversations[conversation]["messages"]) == _times_as_instants(
            [_message(event) for event in events]
        ), conversation
    merged_texts = [m["text"] for m in conversations["ig-1"]["messages"]]
    assert merged_texts == [text for _, text in merged.conversations["ig-1"]]
    assert conversations["ig-1"]["summary"] is not None
    escalations = {e["id"]: e for e in export["escalations"]}
    assert set(escalations) == {f"{c}-esc" for c in published} | {e for e, _ in merged.escalations}
    assert escalations["conv-007-esc"]["reason"] == "reason 7"


async def test_an_export_with_a_service_silent_is_refused_not_partial(system: System) -> None:
    person = people.dana(system.workspace)
    await system.introduce(person)
    await system.runtimes["notes"].stop()
    response = await system.client.get(
        f"/v1/customers/{person.id}/export", headers=auth(system.workspace, role="admin")
    )
    assert "notes" in problem(response, 503)["detail"]
