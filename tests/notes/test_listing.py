"""Listing notes through the gateway: day grouping in the viewer's zone, keyset pages."""

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.pagination import seal_cursor
from shared.messages.notes import Note
from tests.notes.support import NotesStack, error_fields, notes_path
from tests.support import JWT_SECRET, auth, new_workspace


def flatten(page: dict[str, Any]) -> list[str]:
    return [note["id"] for day in page["days"] for note in day["notes"]]


def sealed(secret: str, raw: str) -> str:
    cursor = seal_cursor(secret, raw)
    assert cursor is not None
    return cursor


def newest_first(notes: list[Note]) -> list[str]:
    return [str(n.id) for n in sorted(notes, key=lambda n: (n.created_at, n.id), reverse=True)]


async def test_listing_groups_by_day_in_the_viewers_zone(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    instants = [
        datetime(2024, 6, 1, 14, 0, tzinfo=UTC),  # Tokyo: 1 Jun 23:00, Los Angeles: 1 Jun 07:00
        datetime(2024, 6, 1, 15, 30, tzinfo=UTC),  # Tokyo: 2 Jun 00:30, Los Angeles: 1 Jun 08:30
        datetime(2024, 6, 2, 6, 0, tzinfo=UTC),  # Tokyo: 2 Jun 15:00, Los Angeles: 1 Jun 23:00
        datetime(2024, 6, 2, 7, 30, tzinfo=UTC),  # Tokyo: 2 Jun 16:30, Los Angeles: 2 Jun 00:30
    ]
    ids = [str((await stack.insert_note(ws, customer, at)).id) for at in instants]

    async def days(query: str) -> list[tuple[str, list[str]]]:
        response = await stack.gateway.client.get(f"{notes_path(customer)}{query}", headers=auth(ws))
        assert response.status_code == 200, response.text
        return [(d["date"], [n["id"] for n in d["notes"]]) for d in response.json()["days"]]

    utc = [("2024-06-02", [ids[3], ids[2]]), ("2024-06-01", [ids[1], ids[0]])]
    assert await days("") == utc
    assert await days("?tz=UTC") == utc
    assert await days("?tz=Asia/Tokyo") == [
        ("2024-06-02", [ids[3], ids[2], ids[1]]),
        ("2024-06-01", [ids[0]]),
    ]
    assert await days("?tz=America/Los_Angeles") == [
        ("2024-06-02", [ids[3]]),
        ("2024-06-01", [ids[2], ids[1], ids[0]]),
    ]

    client = stack.gateway.client
    for zone in ["Mars/Olympus", "utc", "America", "../../etc/passwd", "/etc/passwd", "", "x" * 500]:
        response = await client.get(notes_path(customer), params={"tz": zone}, headers=auth(ws))
        assert error_fields(response) == {"tz"}, zone


async def test_pages_hold_every_note_once_in_order(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    start = datetime(2024, 1, 1, 22, 0, tzinfo=UTC)
    # 23 notes over three days, with runs sharing an instant so that only the id breaks ties.
    notes = [await stack.insert_note(ws, customer, start + timedelta(hours=(i // 3) * 7)) for i in range(23)]
    expected = newest_first(notes)

    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        response = await stack.gateway.client.get(notes_path(customer), params=params, headers=auth(ws))
        assert response.status_code == 200, response.text
        page = response.json()
        assert 1 <= len(flatten(page)) <= 4
        seen += flatten(page)
        pages += 1
        if pages == 1:
            # A note written while someone pages belongs to the top, not to a later page.
            await stack.insert_note(ws, customer, datetime.now(UTC))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 6
    assert seen == expected


async def test_limits_and_cursors_the_server_did_not_issue_are_422(stack: NotesStack) -> None:
    ws = new_workspace()
    customer = await stack.add_customer(ws)
    for _ in range(3):
        await stack.insert_note(ws, customer, datetime.now(UTC))
    client = stack.gateway.client

    async def fields(params: dict[str, str]) -> set[str]:
        return error_fields(await client.get(notes_path(customer), params=params, headers=auth(ws)))

    for limit in ["0", "101", "-1", "abc", "1.5"]:
        assert await fields({"limit": limit}) == {"limit"}
    assert await fields({"cursor": "forged"}) == {"cursor"}
    assert await fields({"cursor": sealed("another-secret", "2024-01-01T00:00:00+00:00|x")}) == {"cursor"}
    # Signed by this server but not a position the notes service made: refused by the service.
    for raw in ["garbage", "2024-01-01T00:00:00|00000000-0000-0000-0000-000000000001"]:
        assert await fields({"cursor": sealed(JWT_SECRET, raw)}) == {"cursor"}

    first = await client.get(notes_path(customer), params={"limit": "1"}, headers=auth(ws))
    assert first.json()["next_cursor"] is not None
    for limit in ["1", "100"]:
        response = await client.get(notes_path(customer), params={"limit": limit}, headers=auth(ws))
        assert response.status_code == 200
