"""GET /v1/customers over real HTTP: search, filters, and keyset pages without gaps or repeats."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.profile.support import ProfileStack
from tests.support import auth, customer_id, new_workspace

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
PLATFORMS = ("whatsapp", "instagram", "web")
NAMES = {5: "Élodie Martin", 6: "Zoë 50% off", 7: "Under_score"}


def _pid(n: int) -> str:
    platform = PLATFORMS[n % 3]
    return {"whatsapp": f"+97150123{n:04}", "instagram": f"insta.{n}", "web": f"visitor-{n}"}[platform]


@dataclass
class Grid:
    """45 customers of one workspace on every platform, some tagged, one with an email."""

    workspace: str
    customers: dict[str, dict[str, Any]]
    newest_first: list[str]
    tag: dict[str, Any]
    tagged: list[str]
    emailed: str
    last_contact: datetime


async def seed_grid(stack: ProfileStack) -> Grid:
    """The customers, their tag and their email, once the profile service has them all."""
    ws = new_workspace()
    customers: dict[str, dict[str, Any]] = {}
    for n in range(45):
        platform, pid = PLATFORMS[n % 3], _pid(n)
        # Three customers per instant: the id breaks the tie in the order.
        created_at = T0 + timedelta(minutes=n // 3)
        name = NAMES.get(n, f"Customer {n:02}")
        await stack.publish(
            ws, "contact.seen", platform, pid, display_name=name, occurred_at=created_at.isoformat()
        )
        cid = customer_id(ws, platform, pid)
        customers[cid] = {"n": n, "platform": platform, "pid": pid, "name": name, "created_at": created_at}
    last_contact = T0 + timedelta(days=3)
    await stack.publish(
        ws,
        "conversation.message",
        "web",
        _pid(2),
        occurred_at=last_contact.isoformat(),
        conversation_id="c",
        message_id="m",
        sender="customer",
        text="hi",
    )
    await stack.wait_drained()
    newest_first = sorted(customers, key=lambda c: (customers[c]["created_at"], c), reverse=True)

    admin = auth(ws, role="admin")
    tag = (await stack.http.post("/v1/tags", json={"name": "Hot", "color": "#ff0000"}, headers=admin)).json()
    tagged = [c for c in newest_first if customers[c]["n"] % 4 == 0]
    for cid in tagged:
        response = await stack.http.patch(
            f"/v1/customers/{cid}", json={"tag_ids": [tag["id"]]}, headers=auth(ws)
        )
        assert response.status_code == 200
    emailed = next(c for c in customers if customers[c]["n"] == 4)
    await stack.http.patch(
        f"/v1/customers/{emailed}", json={"email": "Sales.Lead@Example.ORG"}, headers=auth(ws)
    )
    return Grid(ws, customers, newest_first, tag, tagged, emailed, last_contact)


async def test_the_grid_lists_everyone_newest_first_in_pages(stack: ProfileStack) -> None:
    grid = await seed_grid(stack)
    ws = grid.workspace
    everyone = await stack.grid_pages(ws, 7)
    assert [item["id"] for item in everyone] == grid.newest_first
    web_visitor = next(item for item in everyone if item["id"] == customer_id(ws, "web", _pid(2)))
    assert web_visitor == {
        "id": customer_id(ws, "web", _pid(2)),
        "name": "Customer 02",
        "avatar_url": None,
        "platforms": ["web"],
        "tags": [],
        "created_at": web_visitor["created_at"],
        "last_contact_at": web_visitor["last_contact_at"],
    }
    assert datetime.fromisoformat(web_visitor["created_at"]) == T0
    assert datetime.fromisoformat(web_visitor["last_contact_at"]) == grid.last_contact
    first_tagged = next(item for item in everyone if item["id"] == grid.tagged[0])
    assert first_tagged["tags"] == [grid.tag]


async def test_the_grid_filters_by_platform_and_tag(stack: ProfileStack) -> None:
    grid = await seed_grid(stack)
    customers, ws = grid.customers, grid.workspace
    for platform in PLATFORMS:
        ids = [item["id"] for item in await stack.grid_pages(ws, 4, platform=platform)]
        assert ids == [c for c in grid.newest_first if customers[c]["platform"] == platform]
    assert [item["id"] for item in await stack.grid_pages(ws, 3, tag=grid.tag["id"])] == grid.tagged
    both = await stack.grid_pages(ws, 2, tag=grid.tag["id"], platform="instagram", q="customer")
    assert [item["id"] for item in both] == [
        c
        for c in grid.tagged
        if customers[c]["platform"] == "instagram" and customers[c]["name"].startswith("Customer")
    ]


async def test_the_search_matches_names_phones_emails_and_platform_ids(stack: ProfileStack) -> None:
    grid = await seed_grid(stack)
    customers, newest_first = grid.customers, grid.newest_first

    def found(q: str, **params: Any) -> Any:
        return stack.grid_pages(grid.workspace, 5, q=q, **params)

    by_n = {customers[c]["n"]: c for c in customers}
    assert [i["id"] for i in await found("élodie")] == [by_n[5]]
    assert [i["id"] for i in await found("ÉLODIE  MART")] == [by_n[5]]
    assert [i["id"] for i in await found("50%")] == [by_n[6]]
    assert [i["id"] for i in await found("r_")] == [by_n[7]]
    assert [i["id"] for i in await found("example.org")] == [grid.emailed]
    assert [i["id"] for i in await found("+971 50 123 0009")] == [by_n[9]]
    assert [i["id"] for i in await found("INSTA.1")] == [
        c for c in newest_first if customers[c]["pid"].startswith("insta.1")
    ]
    assert [i["id"] for i in await found("customer")] == [
        c for c in newest_first if customers[c]["name"].startswith("Customer")
    ]
    assert await found("nobody-has-this") == []
    assert await found("visitor-2", platform="whatsapp") == []


async def test_an_empty_workspace_has_an_empty_grid(stack: ProfileStack) -> None:
    assert (await stack.http.get("/v1/customers", headers=auth(new_workspace()))).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_the_grid_needs_a_token(stack: ProfileStack) -> None:
    assert (await stack.http.get("/v1/customers")).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "forged"},
        {"tag": "not-a-uuid"},
        {"platform": "fax"},
        {"q": "q" * 201},
        {"q": "a\u0000b"},
    ],
)
async def test_a_bad_grid_parameter_is_a_422_problem(stack: ProfileStack, params: dict[str, Any]) -> None:
    response = await stack.http.get("/v1/customers", params=params, headers=auth(new_workspace()))
    assert response.status_code == 422, params
    assert response.headers["content-type"].startswith("application/problem+json")
