"""POST /v1/customers/bulk-tags over real HTTP: all or nothing, one history entry and one event per
customer changed, ids of another workspace answered as unknown."""

import uuid
from typing import Any

import pytest

from gateway.auth import Role
from tests.profile.support import ProfileStack, eventually
from tests.support import auth, customer_id, new_workspace

URL = "/v1/customers/bulk-tags"


async def customers(stack: ProfileStack, ws: str, count: int) -> list[str]:
    """`count` web visitors of the workspace, once the profile service has them."""
    for n in range(count):
        await stack.publish(ws, "contact.seen", "web", f"visitor-{n}", display_name=f"Visitor {n}")
    ids = [customer_id(ws, "web", f"visitor-{n}") for n in range(count)]
    # Each view, not the consumer's pending counts: they can lag a publication JetStream has
    # already acknowledged (a run saw "nothing pending" before the event was applied).
    for cid in ids:
        await stack.wait_view(ws, cid)
    return ids


async def new_tag(stack: ProfileStack, ws: str, name: str) -> str:
    """A tag of the workspace's catalog; its id."""
    created = await stack.http.post(
        "/v1/tags", json={"name": name, "color": "#336699"}, headers=auth(ws, role="admin")
    )
    assert created.status_code == 201, created.text
    tag_id: str = created.json()["id"]
    return tag_id


async def profile_of(stack: ProfileStack, ws: str, cid: str) -> dict[str, Any]:
    """The profile part of a customer's view."""
    response = await stack.http.get(f"/v1/customers/{cid}", headers=auth(ws))
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()["profile"]
    return profile


async def history_of(stack: ProfileStack, ws: str, cid: str) -> list[dict[str, Any]]:
    """A customer's change history, newest first."""
    response = await stack.http.get(f"/v1/customers/{cid}/history", headers=auth(ws))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("role", ["agent", "admin"])
async def test_each_customer_changed_gets_one_history_entry_and_one_event(
    stack: ProfileStack, role: Role
) -> None:
    ws = new_workspace()
    c0, c1, c2, c3 = await customers(stack, ws, 4)
    vip, lead = await new_tag(stack, ws, "VIP"), await new_tag(stack, ws, "Lead")
    staff = auth(ws, role=role, sub="u-9", name="Amira Staff")
    given = await stack.http.patch(f"/v1/customers/{c0}", json={"tag_ids": [vip, lead]}, headers=staff)
    assert given.status_code == 200, given.text

    added = await stack.http.post(
        URL, json={"customer_ids": [c0, c1, c2, c1], "add": [vip, lead]}, headers=staff
    )
    assert added.status_code == 200, added.text
    assert added.json() == {"changed": [c1, c2], "unchanged": [c0]}
    removed = await stack.http.post(URL, json={"customer_ids": [c0, c3, c1], "remove": [lead]}, headers=staff)
    assert removed.json() == {"changed": [c0, c1], "unchanged": [c3]}

    expected = {c0: ([vip], 3), c1: ([vip], 3), c2: (sorted([vip, lead]), 2), c3: ([], 1)}
    for cid, (tags, version) in expected.items():
        profile = await profile_of(stack, ws, cid)
        assert (sorted(t["id"] for t in profile["tags"]), profile["version"]) == (tags, version), cid
    histories = {cid: await history_of(stack, ws, cid) for cid in expected}
    assert {cid: len(h) for cid, h in histories.items()} == {c0: 2, c1: 2, c2: 1, c3: 0}
    assert histories[c1][0]["actor"] == {"id": "u-9", "name": "Amira Staff"}
    assert histories[c1][0]["changes"] == {"tag_ids": {"old": sorted([vip, lead]), "new": [vip]}}
    assert histories[c1][1]["changes"] == {"tag_ids": {"old": [], "new": sorted([vip, lead])}}

    async def edits() -> list[dict[str, Any]] | None:
        events = [
            e
            for e in await stack.profile_events("customer.updated")
            if e["workspace"] == ws and e["data"]["actor"] is not None
        ]
        return events if len(events) >= 5 else None

    announced = await eventually(edits, what="a customer.updated event per customer changed")
    assert sorted((e["data"]["customer_id"], e["data"]["version"]) for e in announced) == sorted(
        [(c0, 2), (c0, 3), (c1, 2), (c1, 3), (c2, 2)]
    )
    tagged = await stack.http.get("/v1/customers", params={"tag": lead}, headers=staff)
    assert [item["id"] for item in tagged.json()["items"]] == [c2]


async def test_ids_of_another_workspace_answer_as_unknown_and_change_nothing(stack: ProfileStack) -> None:
    a, b = new_workspace(), new_workspace()
    (a_customer,), (b_customer,) = await customers(stack, a, 1), await customers(stack, b, 1)
    a_tag, b_tag = await new_tag(stack, a, "Alpha"), await new_tag(stack, b, "Beta")
    nowhere = str(uuid.uuid4())

    async def refused(body: dict[str, Any]) -> dict[str, Any]:
        response = await stack.http.post(URL, json=body, headers=auth(b))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem: dict[str, Any] = response.json()
        return problem

    foreign = await refused({"customer_ids": [b_customer, a_customer], "add": [b_tag]})
    assert foreign["errors"] == [
        {"field": "customer_ids.1", "message": "is not a customer of this workspace"}
    ]
    assert foreign == await refused({"customer_ids": [b_customer, nowhere], "add": [b_tag]})
    foreign_tag = await refused({"customer_ids": [b_customer], "add": [a_tag], "remove": [b_tag]})
    assert foreign_tag == await refused({"customer_ids": [b_customer], "add": [nowhere], "remove": [b_tag]})
    assert [e["field"] for e in foreign_tag["errors"]] == ["add.0"]

    # All or nothing: B's own customer, listed beside A's, kept its tags; A's data is untouched.
    assert (await profile_of(stack, b, b_customer))["tags"] == []
    assert await history_of(stack, b, b_customer) == []
    a_profile = await profile_of(stack, a, a_customer)
    assert (a_profile["tags"], a_profile["version"]) == ([], 1)


CUSTOMER = "0b9f1a52-7d0e-4f4c-9a4e-2f5d3c1b7a10"
TAG = "5e3c2b1a-9f8e-4d7c-8b6a-1a2b3c4d5e6f"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_ids": ["not-a-uuid"], "add": [TAG]}, "customer_ids.0"),
        ({"customer_ids": [CUSTOMER], "add": ["not-a-uuid"]}, "add.0"),
        ({"customer_ids": [CUSTOMER], "remove": [TAG, 7]}, "remove.1"),
        ({"customer_ids": [], "add": [TAG]}, "customer_ids"),
        ({"customer_ids": [str(uuid.UUID(int=n + 1)) for n in range(101)], "add": [TAG]}, "customer_ids"),
        ({"customer_ids": [CUSTOMER], "add": [str(uuid.UUID(int=n + 1)) for n in range(21)]}, "add"),
        ({"customer_ids": [CUSTOMER]}, "add"),
        ({"customer_ids": [CUSTOMER], "add": [TAG], "remove": [TAG]}, "remove"),
        ({"customer_ids": [CUSTOMER], "add": [TAG], "tags": [TAG]}, "tags"),
        ({"customer_ids": CUSTOMER, "add": [TAG]}, "customer_ids"),
        ({"add": [TAG]}, "customer_ids"),
    ],
)
async def test_a_bulk_edit_that_is_not_valid_is_a_422_naming_the_field(
    stack: ProfileStack, body: dict[str, Any], field: str
) -> None:
    response = await stack.http.post(URL, json=body, headers=auth(new_workspace()))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_customer_cannot_be_given_more_tags_than_the_limit(stack: ProfileStack) -> None:
    ws = new_workspace()
    (cid,) = await customers(stack, ws, 1)
    tags = [await new_tag(stack, ws, f"T{n:03}") for n in range(101)]
    full = await stack.http.patch(f"/v1/customers/{cid}", json={"tag_ids": tags[:100]}, headers=auth(ws))
    assert full.status_code == 200, full.text
    response = await stack.http.post(URL, json={"customer_ids": [cid], "add": [tags[100]]}, headers=auth(ws))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["add"]
    assert len((await profile_of(stack, ws, cid))["tags"]) == 100


async def test_the_tag_array_the_grid_filters_on_follows_every_way_tags_change(stack: ProfileStack) -> None:
    """customers.tag_ids (migration 0006) is kept by triggers on customer_tags: edits, bulk
    changes and a deleted tag's cascade all leave it equal to the links, in their transaction."""
    ws = new_workspace()
    c0, c1, c2 = await customers(stack, ws, 3)
    vip, lead = await new_tag(stack, ws, "VIP"), await new_tag(stack, ws, "Lead")
    staff, admin = auth(ws), auth(ws, role="admin")
    pool = stack.runtime.pool
    assert pool is not None

    async def drift() -> list[str]:
        rows = await pool.fetch(
            "SELECT c.id::text FROM customers c WHERE c.workspace = $1 AND c.tag_ids IS DISTINCT FROM "
            "ARRAY(SELECT ct.tag_id FROM customer_tags ct WHERE ct.customer_id = c.id ORDER BY ct.tag_id)",
            ws,
        )
        return [row["id"] for row in rows]

    async def filtered(tag: str) -> list[str]:
        response = await stack.http.get("/v1/customers", params={"tag": tag}, headers=staff)
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    assert (
        await stack.http.patch(f"/v1/customers/{c0}", json={"tag_ids": [vip, lead]}, headers=staff)
    ).is_success
    assert (
        await stack.http.post(URL, json={"customer_ids": [c1, c2], "add": [lead]}, headers=staff)
    ).is_success
    assert (await drift(), await filtered(vip), await filtered(lead)) == ([], [c0], sorted([c0, c1, c2]))

    assert (
        await stack.http.post(URL, json={"customer_ids": [c0, c2], "remove": [lead]}, headers=staff)
    ).is_success
    assert (await stack.http.patch(f"/v1/customers/{c1}", json={"tag_ids": [vip]}, headers=staff)).is_success
    assert (await drift(), await filtered(vip), await filtered(lead)) == ([], sorted([c0, c1]), [])

    assert (await stack.http.delete(f"/v1/tags/{vip}", headers=admin)).status_code == 204
    assert (await drift(), await filtered(vip)) == ([], [])
    stored = await pool.fetch("SELECT cardinality(tag_ids) AS n FROM customers WHERE workspace = $1", ws)
    assert [row["n"] for row in stored] == [0, 0, 0]
