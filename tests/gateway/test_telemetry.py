"""The gateway's admin port and what it measures; trace context from an HTTP request into events."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import httpx
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.profile.app import definition as profile_definition
from services.profile.config import Settings as ProfileSettings
from shared.ids import customer_id_for
from shared.registry import SERVICE_NAMES
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.support import (
    Samples,
    auth,
    connector_event,
    declare_streams_bound_by,
    growth,
    new_traceparent,
    new_workspace,
    publish_event,
    sample,
    scrape,
    wait_for,
)

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
Starter = Callable[..., Awaitable[ServiceRuntime]]

VIEW_ROUTE = "/v1/customers/{customer_id}"


def admin_url(gateway: RunningGateway) -> str:
    url: str = gateway.app.state.admin.url
    return url


def sections_missed(before: Samples, after: Samples) -> list[str]:
    """The view sections whose cache-miss count grew between two scrapes."""
    return [
        section
        for section in SERVICE_NAMES
        if growth(before, after, "view_cache_section_misses_total", section=section)
    ]


async def seed_contact(js: JetStreamContext, ws: str, user: str) -> str:
    """A web customer known to the profile service; its id."""
    await publish_event(js, ws, "contact.seen", connector_event("web", user, display_name="Traced Person"))
    return str(customer_id_for(ws, "web", user))


async def known(gateway: RunningGateway, ws: str, customer_id: str) -> None:
    async def header() -> bool:
        response = await gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
        return response.status_code == 200 and response.json()["header"] is not None

    await wait_for(header, timeout=30, what="the customer known to the profile service")


async def profile_with_a_customer(
    start_service: Starter, start_gateway: GatewayStarter, js: JetStreamContext, user: str
) -> tuple[RunningGateway, str, str]:
    """The profile service alone and a gateway, with one web customer it knows: (gateway, workspace, id)."""
    # Profile alone: the streams it binds, as their owners declare them.
    await declare_streams_bound_by(js, profile_definition)
    await start_service(profile_definition, ProfileSettings)
    gateway = await start_gateway(view_timeout=0.2)
    ws = new_workspace()
    customer_id = await seed_contact(js, ws, user)
    await known(gateway, ws, customer_id)
    return gateway, ws, customer_id


async def test_admin_healthz_answers_while_the_gateway_runs(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    async with httpx.AsyncClient(base_url=admin_url(gateway)) as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_admin_readyz_names_every_service_that_does_not_answer(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(readiness_timeout=0.2)
    async with httpx.AsyncClient(base_url=admin_url(gateway)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == list(SERVICE_NAMES)


async def test_the_public_port_serves_no_metrics(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    assert (await gateway.client.get("/metrics")).status_code == 404


async def test_requests_are_counted_by_route_template_never_by_path(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(view_timeout=0.2)
    before = await scrape(admin_url(gateway))
    customer_id = str(uuid.uuid4())
    answered = await gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(new_workspace()))
    after = await scrape(admin_url(gateway))
    labels = {"method": "GET", "route": VIEW_ROUTE, "status": str(answered.status_code)}
    assert (
        sample(after, "http_requests_total", **labels) - sample(before, "http_requests_total", **labels) == 1
    )
    duration = {"method": "GET", "route": VIEW_ROUTE}
    assert (
        sample(after, "http_request_duration_seconds_count", **duration)
        - sample(before, "http_request_duration_seconds_count", **duration)
        == 1
    )
    assert not [key for key in after if any(customer_id in value for _, value in key[1])]


async def test_an_uncached_view_counts_a_miss_and_each_section_missed(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(view_timeout=0.2)
    before = await scrape(admin_url(gateway))
    await gateway.client.get(f"/v1/customers/{uuid.uuid4()}", headers=auth(new_workspace()))
    after = await scrape(admin_url(gateway))
    assert growth(before, after, "view_cache_lookups_total", result="miss") == 1
    for section in SERVICE_NAMES:
        assert growth(before, after, "view_cache_section_misses_total", section=section) == 1, section


async def test_a_view_read_while_redis_is_away_counts_an_error_and_no_section_missed(
    start_gateway: GatewayStarter,
) -> None:
    gateway = await start_gateway(view_timeout=0.2, redis_url="redis://127.0.0.1:1/0")
    before = await scrape(admin_url(gateway))
    await gateway.client.get(f"/v1/customers/{uuid.uuid4()}", headers=auth(new_workspace()))
    after = await scrape(admin_url(gateway))
    assert growth(before, after, "view_cache_lookups_total", result="error") == 1
    assert sections_missed(before, after) == []


async def test_a_view_read_after_one_that_stored_every_part_counts_hits(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    ws = new_workspace()
    customer_id = await seed_contact(js, ws, "cached-visitor")
    await known(gateway, ws, customer_id)

    async def every_section_hit() -> bool:
        before = await scrape(admin_url(gateway))
        await gateway.client.get(f"/v1/customers/{customer_id}", headers=auth(ws))
        after = await scrape(admin_url(gateway))
        return (
            growth(before, after, "view_cache_lookups_total", result="hit") == 1
            and sections_missed(before, after) == []
        )

    await wait_for(every_section_hit, timeout=30, what="a read served from the cache")


async def test_requests_refused_by_the_rate_limit_are_counted(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(rate_limit_per_second=1)
    before = await scrape(admin_url(gateway))
    ws = new_workspace()
    statuses = [
        (await gateway.client.get("/v1/reference/countries", headers=auth(ws))).status_code for _ in range(3)
    ]
    after = await scrape(admin_url(gateway))
    assert growth(before, after, "rate_limit_refusals_total") == statuses.count(429) >= 1


async def test_open_event_streams_are_counted_while_open(
    start_service: Starter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    gateway, ws, customer_id = await profile_with_a_customer(
        start_service, start_gateway, js, "watched-visitor"
    )
    before = sample(await scrape(admin_url(gateway)), "sse_streams_open")

    async def streams_open(count: float) -> bool:
        return sample(await scrape(admin_url(gateway)), "sse_streams_open") == count

    url = f"/v1/customers/{customer_id}/events"
    async with gateway.client.stream("GET", url, headers=auth(ws), timeout=30) as response:
        assert response.status_code == 200
        await wait_for(lambda: streams_open(before + 1), what="the stream counted open")
    await wait_for(lambda: streams_open(before), what="the stream counted closed")


async def test_a_traceparent_sent_with_a_patch_reaches_the_event_it_causes(
    start_service: Starter, start_gateway: GatewayStarter, js: JetStreamContext, nc: NATS
) -> None:
    """No exporter configured: the caller's context is handed on unchanged, HTTP to RPC to outbox."""
    gateway, ws, customer_id = await profile_with_a_customer(
        start_service, start_gateway, js, "edited-visitor"
    )
    published: asyncio.Queue[Msg] = asyncio.Queue()

    async def keep(msg: Msg) -> None:
        await published.put(msg)

    await nc.subscribe(f"profile.v1.{ws}.customer.updated", cb=keep)
    _, traceparent = new_traceparent()
    response = await gateway.client.patch(
        f"/v1/customers/{customer_id}",
        json={"language": "ar"},
        headers={**auth(ws), "traceparent": traceparent},
    )
    assert response.status_code == 200, response.text
    event = await asyncio.wait_for(published.get(), 15)
    assert (event.headers or {}).get("traceparent") == traceparent
