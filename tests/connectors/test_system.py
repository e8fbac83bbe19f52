"""The simulator against the running services: what it says it published is what the system shows."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.simulator.app import LiveRun, publish_histories
from connectors.simulator.publisher import Publisher
from connectors.simulator.traffic import LiveTraffic, seed_histories, summarise
from deploy.embedded import EmbeddedNats
from services.profile.handlers import CHAT_DURABLE
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.support import auth, new_workspace, wait_for

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
AllStarter = Callable[..., Awaitable[dict[str, ServiceRuntime]]]


async def _all(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        query = {"limit": "100", **params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_a_seed_run_shows_the_customers_conversations_and_analyses_it_published(
    system: RunningGateway, connector_url: str
) -> None:
    gateway = system
    ws = new_workspace()
    histories = seed_histories(ws, 5, 10, 3, datetime.now(UTC))
    published = [event for history in histories for event in history.events]
    said = summarise(published)
    publisher = await Publisher.connect(connector_url)
    reported = await publish_histories(publisher, ws, histories, stop=asyncio.Event(), concurrency=4)
    await publisher.close()
    assert (reported.customers, reported.events, reported.identities) == (10, said.events, said.identities)
    client, headers = gateway.client, auth(ws)

    async def every_identity_a_customer() -> list[Any]:
        customers = await _all(client, "/v1/customers", headers)
        return customers if len(customers) == sum(said.identities.values()) else []

    customers = await wait_for(every_identity_a_customer, timeout=60, interval=0.5, what="the customers")
    for platform, count in said.identities.items():
        assert len(await _all(client, "/v1/customers", headers, platform=platform)) == count

    async def timeline_once_analysed() -> tuple[list[Any], list[Any]] | None:
        conversations, escalations = [], []
        for customer in customers:
            conversations += await _all(client, f"/v1/customers/{customer['id']}/conversations", headers)
            escalations += await _all(client, f"/v1/customers/{customer['id']}/escalations", headers)
        closed = [c for c in conversations if c["status"] == "closed"]
        done = len(conversations) == said.conversations and all(c["summary"] for c in closed)
        return (conversations, escalations) if done and len(closed) == sum(said.closed_by.values()) else None

    conversations, escalations = await wait_for(
        timeline_once_analysed, timeout=90, interval=1.0, what="every conversation, closed ones analysed"
    )
    assert (
        Counter(c["resolution"]["resolved_by"]["type"] for c in conversations if c["resolution"])
        == said.closed_by
    )
    assert len(escalations) == said.escalations
    handled = {
        e.body["escalation_id"]: e.body["handled_by"] for e in published if e.type == "escalation.handled"
    }
    assert {e["id"]: e["handled_by"] for e in escalations if e["id"] in handled} == handled
    names = {h.customer.display_name for h in histories}
    assert {c["name"] for c in customers} == names
    two = [h.customer.display_name for h in histories if len(h.customer.identities) == 2]
    assert two and all(sum(c["name"] == name for c in customers) >= 2 for name in two)


async def _at_least(value: Callable[[], int], floor: int) -> bool:
    return value() >= floor


async def test_a_live_run_rides_out_a_nats_restart_and_applies_every_event_once(
    nats_server: EmbeddedNats | None, connector_url: str, start_all_services: AllStarter
) -> None:
    if nats_server is None:
        pytest.skip("restarts the embedded NATS server")
    runtimes = await start_all_services()
    ws = new_workspace()
    publisher = await Publisher.connect(connector_url, ack_timeout=0.5)
    stats = publisher.stats
    stop = asyncio.Event()
    live = LiveRun(publisher, ws, LiveTraffic(ws, 3, "restart", 10), rate=40, duration=0)
    running = asyncio.create_task(live.run(stop))
    await wait_for(lambda: _at_least(lambda: stats.acked, 40), what="live traffic acknowledged")
    nats_server.stop()
    await wait_for(lambda: _at_least(lambda: stats.retried, 1), what="publishes retried while NATS is down")
    nats_server.start()
    resumed = stats.acked
    await wait_for(
        lambda: _at_least(lambda: stats.acked, resumed + 40), timeout=60, what="traffic acknowledged again"
    )
    stop.set()
    await running
    await publisher.close()
    assert stats.acked == stats.sent

    profile, timeline = runtimes["profile"].pool, runtimes["timeline"].pool
    assert profile is not None and timeline is not None

    async def profile_applied() -> bool:
        count = await profile.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", CHAT_DURABLE)
        return bool(count == stats.acked)

    await wait_for(profile_applied, timeout=60, interval=0.25, what="every event in the profile inbox")
    acked = stats.acked_by_type
    expected = (acked["conversation.message"], acked["conversation.started"])

    async def timeline_counts() -> tuple[int, int] | None:
        # The timeline consumes the same events on a consumer of its own, at its own pace.
        rows = await timeline.fetchrow(
            "SELECT (SELECT count(*) FROM messages WHERE workspace = $1) AS messages, "
            "(SELECT count(*) FROM conversations WHERE workspace = $1) AS conversations",
            ws,
        )
        assert rows is not None
        counts = (rows["messages"], rows["conversations"])
        return counts if counts == expected else None

    await wait_for(timeline_counts, timeout=60, interval=0.25, what="every event in the timeline")
