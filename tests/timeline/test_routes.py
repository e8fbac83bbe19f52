"""The Conversations and Escalations tabs over real HTTP through the gateway."""

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from gateway.pagination import seal_cursor
from shared.links import chat_url
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.support import JWT_SECRET, assert_problem, auth, new_workspace, wait_for
from tests.timeline.support import Connector, at, consumer_settled

GatewayStarter = Callable[..., Awaitable[RunningGateway]]


async def test_tabs_page_through_a_customers_history(
    timeline_service: ServiceRuntime, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    gateway = await start_gateway()
    ws = new_workspace()
    chat = Connector(js, ws, platform="web", user="visitor/42")
    for n in range(3):
        await chat.started(f"c{n}", at(n * 10))
        await chat.escalated(f"c{n}", f"e{n}", at(n * 10 + 1), "asked for a human")
    await chat.handled("c2", "e2", at(25), "Sara")
    await chat.closed("c2", at(29), by="human", name="Sara")
    await wait_for(lambda: consumer_settled(js), what="events applied")
    client, headers = gateway.client, auth(ws)

    first = await client.get(f"/v1/customers/{chat.customer_id}/conversations?limit=2", headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [item["id"] for item in body["items"]] == ["c2", "c1"]
    assert body["items"][0]["status"] == "closed"
    assert body["items"][0]["resolution"]["resolved_by"] == {"type": "human", "name": "Sara"}
    assert body["items"][1]["chat_url"] == chat_url("web", "visitor/42", "c1")
    rest = await client.get(
        f"/v1/customers/{chat.customer_id}/conversations",
        params={"limit": 2, "cursor": body["next_cursor"]},
        headers=headers,
    )
    assert [item["id"] for item in rest.json()["items"]] == ["c0"]
    assert rest.json()["next_cursor"] is None

    escalations = await client.get(f"/v1/customers/{chat.customer_id}/escalations", headers=headers)
    assert escalations.status_code == 200
    assert [(e["id"], e["handled_by"]) for e in escalations.json()["items"]] == [
        ("e2", "Sara"),
        ("e1", None),
        ("e0", None),
    ]
    assert escalations.json()["next_cursor"] is None

    # Another workspace asking for this customer sees nothing, as for any unknown customer.
    foreign = await client.get(
        f"/v1/customers/{chat.customer_id}/conversations", headers=auth(new_workspace())
    )
    assert foreign.status_code == 200
    assert foreign.json() == {"items": [], "next_cursor": None}


async def test_bad_input_is_a_problem_never_a_500(
    timeline_service: ServiceRuntime, start_gateway: GatewayStarter
) -> None:
    gateway = await start_gateway()
    client, headers = gateway.client, auth(new_workspace())
    customer = "6f6e2a53-3b8f-4a8e-9c1d-2f0c7c1e5a10"
    for tab in ("conversations", "escalations"):
        empty = await client.get(f"/v1/customers/{customer}/{tab}", headers=headers)
        assert empty.status_code == 200 and empty.json() == {"items": [], "next_cursor": None}
        assert_problem(await client.get(f"/v1/customers/not-a-uuid/{tab}", headers=headers), 404)
        assert_problem(await client.get(f"/v1/customers/{customer}/{tab}"), 401)
        for limit in ("0", "101", "ten"):
            body = assert_problem(
                await client.get(f"/v1/customers/{customer}/{tab}?limit={limit}", headers=headers), 422
            )
            assert [error["field"] for error in body["errors"]] == ["limit"]
        # Forged, tampered, oversized, and one we sealed around something the service never issued.
        for cursor in (
            "forged",
            "eyJhIjoxfQ.0123456789abcdef01234567",
            "x" * 5000,
            seal_cursor(JWT_SECRET, "[1]"),
        ):
            response = await client.get(
                f"/v1/customers/{customer}/{tab}", params={"cursor": cursor}, headers=headers
            )
            body = assert_problem(response, 422)
            assert [error["field"] for error in body["errors"]] == ["cursor"]
