"""The AI agent's customer context over NATS and HTTP, and workspace isolation everywhere."""

from typing import Any

from nats.aio.client import Client as NATS

from shared.jsonutil import dumps, loads
from shared.subjects import agent_context_subject
from tests.profile.support import ProfileStack
from tests.support import auth, customer_id, new_workspace


async def _ask(nc: NATS, workspace: str, body: Any) -> Any:
    reply = await nc.request(agent_context_subject(workspace), dumps(body), timeout=5)
    return loads(reply.data)


async def test_agent_context_over_nats_and_http(stack: ProfileStack) -> None:
    ws = new_workspace()
    question = {"platform": "instagram", "platform_user_id": "dana.q"}
    assert await _ask(stack.nc, ws, question) == {"error": "not_found"}
    missing = await stack.http.get("/v1/agent-context", params=question, headers=auth(ws))
    assert missing.status_code == 404

    await stack.publish(ws, "contact.seen", "instagram", "Dana.Q", display_name="Dana")
    cid = customer_id(ws, "instagram", "dana.q")
    await stack.wait_view(ws, cid)
    admin = auth(ws, role="admin")
    tags = [
        (await stack.http.post("/v1/tags", json={"name": name, "color": "#336699"}, headers=admin)).json()[
            "id"
        ]
        for name in ("VIP", "Arabic speaker")
    ]
    edit = {
        "language": "ar",
        "agent_instructions": "Greet in Arabic.\nOffer the loyalty discount.",
        "tag_ids": tags,
    }
    assert (await stack.http.patch(f"/v1/customers/{cid}", json=edit, headers=auth(ws))).status_code == 200

    expected = {
        "customer_id": cid,
        "name": "Dana",
        "language": "ar",
        "agent_instructions": "Greet in Arabic.\nOffer the loyalty discount.",
        "tags": ["Arabic speaker", "VIP"],
        # The insights service is not running: the context comes without an AI profile, in time.
        "ai_profile": None,
    }
    assert await _ask(stack.nc, ws, question) == expected
    assert await _ask(stack.nc, ws, {"platform": "instagram", "platform_user_id": "@DANA.Q"}) == expected
    over_http = await stack.http.get("/v1/agent-context", params=question, headers=auth(ws))
    assert over_http.status_code == 200 and over_http.json() == expected

    for bad in ({"platform": "fax", "platform_user_id": "x"}, {"platform": "web"}, [1], "text"):
        assert await _ask(stack.nc, ws, bad) == {"error": "invalid"}
    for params in (
        {"platform": "fax", "platform_user_id": "x"},
        {"platform": "web"},
        {"platform_user_id": "x"},
    ):
        assert (await stack.http.get("/v1/agent-context", params=params, headers=auth(ws))).status_code == 422


async def test_another_workspace_sees_nothing(stack: ProfileStack) -> None:
    ours, theirs = new_workspace(), new_workspace()
    pid = "+971509998877"
    await stack.publish(ours, "contact.seen", "whatsapp", pid, display_name="Ours")
    cid = customer_id(ours, "whatsapp", pid)
    await stack.wait_view(ours, cid)
    tag = (
        await stack.http.post(
            "/v1/tags", json={"name": "Ours", "color": "#000000"}, headers=auth(ours, role="admin")
        )
    ).json()
    assert (
        await stack.http.patch(f"/v1/customers/{cid}", json={"tag_ids": [tag["id"]]}, headers=auth(ours))
    ).status_code == 200

    stranger, stranger_admin = auth(theirs), auth(theirs, role="admin")
    assert (await stack.http.get(f"/v1/customers/{cid}", headers=stranger)).status_code == 404
    assert (await stack.http.get(f"/v1/customers/{cid}/history", headers=stranger)).status_code == 404
    patched = await stack.http.patch(f"/v1/customers/{cid}", json={"name": "Stolen"}, headers=stranger)
    assert patched.status_code == 404
    assert (await stack.http.get("/v1/customers", params={"q": pid}, headers=stranger)).json()["items"] == []
    assert (await stack.http.get("/v1/customers", params={"tag": tag["id"]}, headers=stranger)).json()[
        "items"
    ] == []
    question = {"platform": "whatsapp", "platform_user_id": pid}
    assert (await stack.http.get("/v1/agent-context", params=question, headers=stranger)).status_code == 404
    assert await _ask(stack.nc, theirs, question) == {"error": "not_found"}
    assert (await stack.http.get("/v1/tags", headers=stranger)).json()["items"] == []
    renamed = await stack.http.patch(f"/v1/tags/{tag['id']}", json={"name": "Stolen"}, headers=stranger_admin)
    assert renamed.status_code == 404
    assert (await stack.http.delete(f"/v1/tags/{tag['id']}", headers=stranger_admin)).status_code == 404

    # Their own customer cannot borrow our tag either.
    await stack.publish(theirs, "conversation.started", "web", "theirs-1", conversation_id="c")
    their_customer = customer_id(theirs, "web", "theirs-1")
    await stack.wait_view(theirs, their_customer)
    borrowed = await stack.http.patch(
        f"/v1/customers/{their_customer}", json={"tag_ids": [tag["id"]]}, headers=stranger
    )
    assert borrowed.status_code == 422 and borrowed.json()["errors"][0]["field"] == "tag_ids"

    view = await stack.view(ours, cid)
    assert view is not None
    assert (view["profile"]["name"], view["profile"]["tags"], view["profile"]["version"]) == (
        "Ours",
        [tag],
        2,
    )
