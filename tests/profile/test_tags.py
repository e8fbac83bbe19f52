"""The tag catalog over real HTTP: admin-only changes, unique names, colours, cascade on delete."""

from typing import Any

from tests.profile.support import ProfileStack, eventually
from tests.support import auth, customer_id, new_workspace


async def test_only_admins_manage_tags_and_names_are_unique_in_any_case(stack: ProfileStack) -> None:
    ws = new_workspace()
    admin, agent = auth(ws, role="admin"), auth(ws)
    vip = await stack.http.post("/v1/tags", json={"name": " VIP ", "color": "#ff00aa"}, headers=admin)
    assert vip.status_code == 201, vip.text
    tag = vip.json()
    assert (tag["name"], tag["color"]) == ("VIP", "#FF00AA")

    assert (
        await stack.http.post("/v1/tags", json={"name": "New", "color": "#000000"}, headers=agent)
    ).status_code == 403
    assert (
        await stack.http.patch(f"/v1/tags/{tag['id']}", json={"name": "x"}, headers=agent)
    ).status_code == 403
    assert (await stack.http.delete(f"/v1/tags/{tag['id']}", headers=agent)).status_code == 403

    for name in ("vip", "Vip", "  VIP"):
        duplicate = await stack.http.post("/v1/tags", json={"name": name, "color": "#000000"}, headers=admin)
        assert duplicate.status_code == 409, name
    other = (
        await stack.http.post("/v1/tags", json={"name": "Lead", "color": "#123abc"}, headers=admin)
    ).json()
    taken = await stack.http.patch(f"/v1/tags/{other['id']}", json={"name": "vIP"}, headers=admin)
    assert taken.status_code == 409, taken.text

    for body, field in (
        ({"name": "", "color": "#000000"}, "name"),
        ({"name": "t" * 51, "color": "#000000"}, "name"),
        ({"name": "Ok", "color": "red"}, "color"),
        ({"name": "Ok", "color": "#12345G"}, "color"),
        ({"name": "Ok"}, "color"),
        ({"name": "Ok", "color": "#000000", "id": "x"}, "id"),
        ({"name": "a\u0000", "color": "#000000"}, "name"),
    ):
        response = await stack.http.post("/v1/tags", json=body, headers=admin)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field], body
    cleared = await stack.http.patch(f"/v1/tags/{tag['id']}", json={"name": None}, headers=admin)
    assert cleared.status_code == 422 and cleared.json()["errors"][0]["field"] == "name"

    recased = await stack.http.patch(f"/v1/tags/{tag['id']}", json={"name": "vip"}, headers=admin)
    assert recased.json() == {**tag, "name": "vip"}
    recoloured = await stack.http.patch(f"/v1/tags/{tag['id']}", json={"color": "#00ff00"}, headers=admin)
    assert recoloured.json() == {**tag, "name": "vip", "color": "#00FF00"}

    listed = (await stack.http.get("/v1/tags", headers=agent)).json()["items"]
    assert [t["name"] for t in listed] == ["Lead", "vip"]
    assert (await stack.http.get("/v1/tags", headers=auth(new_workspace()))).json() == {"items": []}
    for path in ("/v1/tags/not-a-uuid", "/v1/tags/6d0c1a3c-6b55-4b5e-9a44-3c0b7f2f4b11"):
        assert (await stack.http.patch(path, json={"color": "#000000"}, headers=admin)).status_code == 404
        assert (await stack.http.delete(path, headers=admin)).status_code == 404

    announced = await eventually(lambda: _tag_events(stack, 4), what="tag events")
    assert [e["type"] for e in announced] == ["tag.created", "tag.created", "tag.updated", "tag.updated"]


async def _tag_events(stack: ProfileStack, count: int) -> list[dict[str, Any]] | None:
    events = [
        e for kind in ("tag.created", "tag.updated", "tag.deleted") for e in await stack.profile_events(kind)
    ]
    return events if len(events) >= count else None


async def test_deleting_a_tag_takes_it_off_every_customer(stack: ProfileStack) -> None:
    ws = new_workspace()
    admin = auth(ws, role="admin")
    doomed = (
        await stack.http.post("/v1/tags", json={"name": "Churn risk", "color": "#aa0000"}, headers=admin)
    ).json()
    kept = (
        await stack.http.post("/v1/tags", json={"name": "Loyal", "color": "#00aa00"}, headers=admin)
    ).json()
    customers = []
    for n in range(3):
        await stack.publish(ws, "conversation.started", "web", f"v-{n}", conversation_id="c")
        cid = customer_id(ws, "web", f"v-{n}")
        await stack.wait_view(ws, cid)
        response = await stack.http.patch(
            f"/v1/customers/{cid}", json={"tag_ids": [doomed["id"], kept["id"]]}, headers=auth(ws)
        )
        assert [t["name"] for t in response.json()["profile"]["tags"]] == ["Churn risk", "Loyal"]
        customers.append(cid)
    tagged = await stack.http.get("/v1/customers", params={"tag": doomed["id"]}, headers=auth(ws))
    assert len(tagged.json()["items"]) == 3

    assert (await stack.http.delete(f"/v1/tags/{doomed['id']}", headers=admin)).status_code == 204
    for cid in customers:
        view = await stack.view(ws, cid)
        assert view is not None and view["profile"]["tags"] == [kept]
    grid = (await stack.http.get("/v1/customers", headers=auth(ws))).json()["items"]
    assert all(item["tags"] == [kept] for item in grid)
    assert (await stack.http.get("/v1/customers", params={"tag": doomed["id"]}, headers=auth(ws))).json()[
        "items"
    ] == []
    assert (await stack.http.get("/v1/tags", headers=admin)).json()["items"] == [kept]
    gone = await stack.http.patch(
        f"/v1/customers/{customers[0]}", json={"tag_ids": [doomed["id"]]}, headers=auth(ws)
    )
    assert gone.status_code == 422 and gone.json()["errors"][0]["field"] == "tag_ids"
    assert (await stack.http.delete(f"/v1/tags/{doomed['id']}", headers=admin)).status_code == 404
