"""GET /v1/customers?sort=: every order over real HTTP, keyset pages per order, cursors bound to theirs."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.profile.support import ProfileStack
from tests.support import auth, customer_id, new_workspace

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# (name, minutes after T0 it was created, minutes after T0 of its last contact); the two Sams tie
# on name and the first two customers on creation time, so the id has to break ties.
CUSTOMERS = [
    ("bob", 0, 50),
    ("Émile", 0, 10),
    ("alice", 1, 40),
    ("Zack", 2, 20),
    ("zoë", 3, 30),
    ("أحمد", 4, 60),
    ("ليلى", 5, 5),
    ("Álvaro", 6, 45),
    ("Sam", 7, 15),
    ("sam", 8, 25),
]
# Names case- and accent-insensitively (the two Sams are one name: their ids break the tie).
RANK = ["alice", "álvaro", "bob", "émile", "sam", "zack", "zoë", "أحمد", "ليلى"]


async def seed(stack: ProfileStack) -> tuple[str, dict[str, dict[str, Any]]]:
    """A workspace with CUSTOMERS (web visitors); id → {name, created_at, last_contact_at}."""
    ws = new_workspace()
    customers: dict[str, dict[str, Any]] = {}
    for n, (name, created, contacted) in enumerate(CUSTOMERS):
        pid = f"visitor-{n}"
        created_at, contact_at = T0 + timedelta(minutes=created), T0 + timedelta(minutes=contacted)
        await stack.publish(
            ws, "contact.seen", "web", pid, display_name=name, occurred_at=created_at.isoformat()
        )
        await stack.publish(
            ws,
            "conversation.started",
            "web",
            pid,
            conversation_id=f"c-{n}",
            occurred_at=contact_at.isoformat(),
        )
        customers[customer_id(ws, "web", pid)] = {
            "name": name,
            "created_at": created_at,
            "last_contact_at": max(created_at, contact_at),
        }
    await stack.wait_drained()
    return ws, customers


def by(customers: dict[str, dict[str, Any]], field: str, descending: bool) -> list[str]:
    """Ids ordered by a time field, ties by id, the same way."""
    return sorted(customers, key=lambda c: (customers[c][field], uuid.UUID(c)), reverse=descending)


def by_name(customers: dict[str, dict[str, Any]], descending: bool) -> list[str]:
    """Ids ordered by RANK, ties by id, the same way."""
    rank = {c: RANK.index(customers[c]["name"].casefold()) for c in customers}
    return sorted(customers, key=lambda c: (rank[c], uuid.UUID(c)), reverse=descending)


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [
        ("-created_at", "created_at", True),
        ("created_at", "created_at", False),
        ("-last_contact_at", "last_contact_at", True),
        ("last_contact_at", "last_contact_at", False),
    ],
)
async def test_time_orders_page_without_gaps_or_repeats(
    stack: ProfileStack, sort: str, field: str, descending: bool
) -> None:
    ws, customers = await seed(stack)
    items = await stack.grid_pages(ws, 3, sort=sort)
    assert [item["id"] for item in items] == by(customers, field, descending)


@pytest.mark.parametrize(("sort", "descending"), [("name", False), ("-name", True)])
async def test_names_order_without_case_or_accents_and_page_without_gaps(
    stack: ProfileStack, sort: str, descending: bool
) -> None:
    ws, customers = await seed(stack)
    items = await stack.grid_pages(ws, 4, sort=sort)
    assert [item["id"] for item in items] == by_name(customers, descending)


async def test_the_default_order_is_newest_first(stack: ProfileStack) -> None:
    ws, customers = await seed(stack)
    assert [item["id"] for item in await stack.grid_pages(ws, 5)] == by(customers, "created_at", True)


async def test_orders_combine_with_search_and_filters(stack: ProfileStack) -> None:
    ws, customers = await seed(stack)
    items = await stack.grid_pages(ws, 2, sort="-name", q="a", platform="web")
    named_a = {c: v for c, v in customers.items() if "a" in v["name"].casefold()}
    assert [item["id"] for item in items] == by_name(named_a, True)


async def test_a_cursor_of_one_order_is_refused_under_another(stack: ProfileStack) -> None:
    ws, _ = await seed(stack)
    first = await stack.http.get("/v1/customers", params={"sort": "name", "limit": 2}, headers=auth(ws))
    cursor = first.json()["next_cursor"]
    assert cursor
    for sort in ("-name", "created_at", "-created_at", "-last_contact_at"):
        response = await stack.http.get(
            "/v1/customers", params={"sort": sort, "limit": 2, "cursor": cursor}, headers=auth(ws)
        )
        assert response.status_code == 422, (sort, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
    # Under its own order it goes on.
    again = await stack.http.get(
        "/v1/customers", params={"sort": "name", "limit": 2, "cursor": cursor}, headers=auth(ws)
    )
    assert again.status_code == 200
    assert [i["name"] for i in again.json()["items"]] == ["bob", "Émile"]


@pytest.mark.parametrize("sort", ["age", "--name", "NAME", "name ", "", "-", "created_at,name"])
async def test_an_order_the_grid_does_not_have_is_a_422(stack: ProfileStack, sort: str) -> None:
    response = await stack.http.get("/v1/customers", params={"sort": sort}, headers=auth(new_workspace()))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "sort" in {e["field"].split(".")[-1] for e in response.json()["errors"]}
