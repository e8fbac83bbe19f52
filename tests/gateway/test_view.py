"""The assembled profile view on the real services: content, degradation, cache, limits, live updates."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from nats.js import JetStreamContext

from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.support import seed_customer, seed_viewable_customer, view_when
from tests.support import auth, connector_event, new_workspace, publish_event, wait_for

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
AllStarter = Callable[..., Awaitable[dict[str, ServiceRuntime]]]


def fully_analysed(view: dict[str, Any]) -> bool:
    return (
        view["header"] is not None
        and view["counts"]["conversations"] == 1
        and view["counts"]["escalations"] == 1
        and view["ai_profile"] is not None
        and view["header"]["sentiment"]["conversations"] == 1
    )


async def test_full_view_with_data_in_every_service(gateway: RunningGateway, js: JetStreamContext) -> None:
    ws = new_workspace()
    customer_id = await seed_viewable_customer(gateway.client, js, ws)
    note = await gateway.client.post(
        f"/v1/customers/{customer_id}/notes", json={"text": "VIP"}, headers=auth(ws)
    )
    assert note.status_code == 201, note.text

    view = await view_when(gateway.client, ws, customer_id, fully_analysed, "analysed view")
    response = await gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
    assert response.headers["etag"] == f'"{view["profile"]["version"]}"'
    assert view["id"] == customer_id
    assert view["unavailable"] == []
    assert view["counts"] == {"notes": 1, "conversations": 1, "escalations": 1}
    header = view["header"]
    assert header["name"] == "Layla Haddad"
    assert header["platforms"] == [
        {
            "platform": "whatsapp",
            "platform_user_id": "+971501234567",
            "chat_url": "/chats/whatsapp/%2B971501234567",
        }
    ]
    assert header["instagram"] is None
    assert -1 <= header["sentiment"]["average"] <= 1
    assert header["sentiment"]["label"] in {"positive", "neutral", "negative"}
    assert view["profile"]["phone"] == "+971501234567"
    assert set(view["ai_profile"]) >= {
        "communication_preferences",
        "topics_of_interest",
        "purchase_behavior",
        "key_characteristics",
        "updated_at",
    }


async def test_each_service_stopped_in_turn_marks_only_its_section_unavailable(
    start_all_services: AllStarter,
    start_gateway: GatewayStarter,
    js: JetStreamContext,
    start_service: Callable[..., Awaitable[ServiceRuntime]],
) -> None:
    runtimes = await start_all_services()
    gateway = await start_gateway(view_timeout=0.5)
    ws = new_workspace()
    customer_id = await seed_customer(js, ws)
    await view_when(gateway.client, ws, customer_id, fully_analysed, "analysed view")
    cache = gateway.app.state.view_cache

    for name in ("profile", "notes", "timeline", "insights"):
        runtime = runtimes[name]
        await runtime.stop()
        await cache.invalidate(ws, customer_id, "profile", "notes", "timeline", "insights")
        response = await gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["unavailable"] == [name]
        if name == "profile":
            assert view["header"] is None and view["profile"] is None
            assert "etag" not in response.headers
        if name == "notes":
            assert view["counts"]["notes"] == 0
        if name == "timeline":
            assert (view["counts"]["conversations"], view["counts"]["escalations"]) == (0, 0)
        if name == "insights":
            assert view["ai_profile"] is None and view["header"]["sentiment"] is None
        runtimes[name] = await start_service(
            runtime.definition, type(runtime.settings), database_url=runtime.database_url
        )
        await view_when(gateway.client, ws, customer_id, lambda v: v["unavailable"] == [], f"{name} back")


async def test_cached_view_is_never_stale_after_a_write(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    ws = new_workspace()
    admin = auth(ws, role="admin")
    customer_id = await seed_customer(js, ws)
    await view_when(gateway.client, ws, customer_id, fully_analysed, "analysed view")
    url = f"/v1/customers/{customer_id}"

    async def view() -> dict[str, Any]:
        response = await gateway.client.get(url, headers=auth(ws))
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    await view()  # warm

    patched = await gateway.client.patch(url, json={"name": "Layla H."}, headers=auth(ws))
    assert patched.status_code == 200, patched.text
    assert (await view())["header"]["name"] == "Layla H."

    tag = (
        await gateway.client.post("/v1/tags", json={"name": "VIP", "color": "#FF0000"}, headers=admin)
    ).json()
    assert (
        await gateway.client.patch(url, json={"tag_ids": [tag["id"]]}, headers=auth(ws))
    ).status_code == 200
    assert [t["name"] for t in (await view())["profile"]["tags"]] == ["VIP"]
    bulk = "/v1/customers/bulk-tags"
    off = await gateway.client.post(
        bulk, json={"customer_ids": [customer_id], "remove": [tag["id"]]}, headers=auth(ws)
    )
    assert off.status_code == 200, off.text
    assert (await view())["profile"]["tags"] == []
    on = await gateway.client.post(
        bulk, json={"customer_ids": [customer_id], "add": [tag["id"]]}, headers=auth(ws)
    )
    assert on.status_code == 200, on.text
    assert [t["name"] for t in (await view())["profile"]["tags"]] == ["VIP"]
    renamed = await gateway.client.patch(f"/v1/tags/{tag['id']}", json={"name": "Gold"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert [t["name"] for t in (await view())["profile"]["tags"]] == ["Gold"]
    assert (await gateway.client.delete(f"/v1/tags/{tag['id']}", headers=admin)).status_code == 204
    assert (await view())["profile"]["tags"] == []

    note = (await gateway.client.post(f"{url}/notes", json={"text": "call back"}, headers=auth(ws))).json()
    assert (await view())["counts"]["notes"] == 1
    assert (await gateway.client.delete(f"{url}/notes/{note['id']}", headers=auth(ws))).status_code == 204
    assert (await view())["counts"]["notes"] == 0

    # Connector and analysis events invalidate asynchronously: the view catches up without a write.
    await publish_event(
        js, ws, "conversation.started", connector_event("whatsapp", "+971501234567", conversation_id="c2")
    )
    await view_when(gateway.client, ws, customer_id, lambda v: v["counts"]["conversations"] == 2, "c2 shown")


async def test_redis_down_degrades_to_uncached(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    await start_all_services()
    gateway = await start_gateway(redis_url="redis://127.0.0.1:1/0")
    ws = new_workspace()
    customer_id = await seed_customer(js, ws)
    view = await view_when(gateway.client, ws, customer_id, lambda v: v["header"] is not None, "view")
    assert view["unavailable"] == []
    patched = await gateway.client.patch(
        f"/v1/customers/{customer_id}", json={"location": "Dubai"}, headers=auth(ws)
    )
    assert patched.status_code == 200 and patched.json()["profile"]["location"] == "Dubai"


async def test_rate_limit_is_hit_and_recovers(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(rate_limit_per_second=5)
    ws = new_workspace()
    responses = await asyncio.gather(
        *(gateway.client.get("/v1/reference/countries", headers=auth(ws)) for _ in range(20))
    )
    limited = [r for r in responses if r.status_code == 429]
    assert limited and len(limited) <= 15
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].headers["content-type"].startswith("application/problem+json")
    other = await gateway.client.get("/v1/reference/countries", headers=auth(new_workspace()))
    assert other.status_code == 200  # the limit is per workspace

    async def allowed_again() -> bool:
        response = await gateway.client.get("/v1/reference/countries", headers=auth(ws))
        return response.status_code == 200

    await wait_for(allowed_again, timeout=5, interval=0.25, what="limit window passed")


async def test_rate_limit_is_shared_by_replicas(start_gateway: GatewayStarter, redis_url: str) -> None:
    limit = 10
    first = await start_gateway(rate_limit_per_second=limit)
    second = await start_gateway(rate_limit_per_second=limit)
    ws = new_workspace()
    url, headers = "/v1/reference/languages", auth(ws)
    redis = aioredis.from_url(redis_url)
    try:
        # The window is one wall-clock second: a run that straddles two windows proves nothing, and
        # a retry must not start in a second an earlier attempt already counted requests in.
        used = int(time.time())

        async def fresh_window() -> bool:
            return int(time.time()) > used

        for _ in range(5):
            await wait_for(fresh_window, timeout=5, interval=0.005, what="a window no attempt used")
            window = int(time.time())
            statuses = [(await first.client.get(url, headers=headers)).status_code for _ in range(limit)]
            used = int(time.time())
            if used != window:
                continue  # the requests themselves straddled two windows

            async def counted_in_redis(window: int = window) -> bool:
                return int(await redis.get(f"rl:{ws}:{window}") or 0) >= limit

            await wait_for(counted_in_redis, what="the first replica's count synced to Redis")
            answer = await second.client.get(url, headers=headers)
            used = int(time.time())
            if used == window:
                assert statuses == [200] * limit, statuses
                assert answer.status_code == 429
                break
        else:
            pytest.fail("every attempt straddled a one-second window")
    finally:
        await redis.aclose()


async def test_live_updates_deliver_another_users_changes(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    ws = new_workspace()
    customer_id = await seed_viewable_customer(gateway.client, js, ws)
    url = f"/v1/customers/{customer_id}"
    seen: list[dict[str, Any]] = []

    async def listen(opened: asyncio.Event) -> None:
        headers = auth(ws, sub="watcher", name="Watcher")
        async with gateway.client.stream("GET", f"{url}/events", headers=headers, timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            opened.set()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    seen.append(orjson.loads(line[6:]))
                    if {e["type"] for e in seen} >= {"profile.customer.updated", "notes.note.added"}:
                        return

    opened = asyncio.Event()
    listener = asyncio.create_task(listen(opened))
    await asyncio.wait_for(opened.wait(), 10)
    editor = auth(ws, sub="editor", name="Editor")
    assert (await gateway.client.patch(url, json={"language": "ar"}, headers=editor)).status_code == 200
    assert (
        await gateway.client.post(f"{url}/notes", json={"text": "hello"}, headers=editor)
    ).status_code == 201
    await asyncio.wait_for(listener, 15)
    # Every event the stream sent is one the dashboard learns of from the reference list.
    listed = (await gateway.client.get("/v1/reference/live-events", headers=editor)).json()["items"]
    assert {e["type"] for e in seen} <= {item["type"] for item in listed}
    update = next(e for e in seen if e["type"] == "profile.customer.updated")
    assert update["customer_id"] == customer_id
    assert update["data"]["changes"]["language"] == {"old": None, "new": "ar"}

    stranger = await gateway.client.get(f"{url}/events", headers=auth(new_workspace()))
    assert stranger.status_code == 404
