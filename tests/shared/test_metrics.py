"""The shared runtime's metrics move with the work, as a scrape of the service's admin port sees them."""

import uuid
from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from deploy.embedded import EmbeddedNats
from shared.errors import NotFound
from shared.metrics import view_cache_result
from shared.outbox import enqueue
from shared.rpc import Empty, Operation, ServiceUnavailable, call
from shared.runtime import ServiceRuntime
from tests.shared import probe
from tests.shared.holding import consumer_held
from tests.support import (
    Samples,
    connector_event,
    growth,
    new_workspace,
    publish_event,
    sample,
    scrape,
    wait_for,
)

CONSUMER = "probe-contacts"


@pytest.fixture
def probe_settings() -> dict[str, object]:
    """Quick retries, and the gauges measured every 0.1 s so that a test sees them move at once."""
    return {"retry_backoff": (0.05,), "max_deliver": 3, "metrics_interval_seconds": 0.1}


def _grew(
    runtime: ServiceRuntime, before: Samples, name: str, by: float, **labels: str
) -> Callable[[], Awaitable[Samples | None]]:
    """A condition: the scrape on which the sample has grown by `by` since `before`."""

    async def check() -> Samples | None:
        now = await scrape(runtime.admin.url)
        return now if growth(before, now, name, **labels) == by else None

    return check


def _is(runtime: ServiceRuntime, name: str, value: float, **labels: str) -> Callable[[], Awaitable[bool]]:
    """A condition: the sample (a gauge) reads `value`."""

    async def check() -> bool:
        return sample(await scrape(runtime.admin.url), name, **labels) == value

    return check


async def _contact(js: JetStreamContext, workspace: str, name: str) -> None:
    await publish_event(js, workspace, "contact.seen", connector_event("web", name, display_name=name))


async def _processed(
    runtime: ServiceRuntime, before: Samples, outcome: str, by: int, *, what: str
) -> Samples:
    """The scrape on which the probe's consumer has counted `by` more events with `outcome` since `before`."""
    return await wait_for(
        _grew(runtime, before, "events_processed_total", by, consumer=CONSUMER, outcome=outcome), what=what
    )


async def test_applied_events_are_counted(runtime: ServiceRuntime, js: JetStreamContext) -> None:
    before = await scrape(runtime.admin.url)
    ws = new_workspace()
    for n in range(3):
        await _contact(js, ws, f"visitor-{n}")
    await _processed(runtime, before, "applied", 3, what="three events counted applied")


async def test_a_second_copy_of_an_event_is_counted_duplicate(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    before = await scrape(runtime.admin.url)
    ws = new_workspace()
    event = connector_event("web", "visitor-twice", display_name="Twice")
    # Different Nats-Msg-Ids get both copies past the stream's dedup window.
    await publish_event(js, ws, "contact.seen", event, msg_id="first")
    await publish_event(js, ws, "contact.seen", event, msg_id="second")
    after = await _processed(runtime, before, "duplicate", 1, what="the second copy counted duplicate")
    assert growth(before, after, "events_processed_total", consumer=CONSUMER, outcome="applied") == 1


async def test_a_poison_event_is_counted_retried_then_dead_lettered(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    before = await scrape(runtime.admin.url)
    await _contact(js, new_workspace(), "poison")
    after = await _processed(
        runtime, before, "dead_lettered", 1, what="the poison event counted dead-lettered"
    )
    # max_deliver 3: two deliveries failed and were handed back, the third set it aside.
    assert growth(before, after, "events_processed_total", consumer=CONSUMER, outcome="retried") == 2


async def test_dead_letter_messages_reads_the_dead_letter_stream(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    await _contact(js, new_workspace(), "poison")
    await wait_for(_is(runtime, "dead_letter_messages", 1, service="probe"), what="one dead letter measured")


async def test_pending_messages_rise_while_the_consumer_is_held_and_fall_after(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    assert runtime.pool is not None
    ws = new_workspace()
    async with consumer_held(runtime.pool, lambda: _contact(js, ws, "first")):
        for n in range(5):
            await _contact(js, ws, f"waiting-{n}")
        # The held event is delivered but unacknowledged; the five behind it not yet delivered.
        await wait_for(
            _is(runtime, "consumer_pending_messages", 6, consumer=CONSUMER), what="six messages pending"
        )
    await wait_for(_is(runtime, "consumer_pending_messages", 0, consumer=CONSUMER), what="none pending after")


async def test_outbox_backlog_rises_while_nats_is_away_and_falls_after(
    stoppable_nats: EmbeddedNats, runtime: ServiceRuntime
) -> None:
    assert runtime.pool is not None
    stoppable_nats.stop()
    async with runtime.pool.acquire() as conn, conn.transaction():
        for n in range(3):
            await enqueue(
                conn, probe.CONTACT_APPLIED, new_workspace(), probe.ContactApplied(source_event_id=str(n))
            )
    await wait_for(_is(runtime, "outbox_pending_events", 3, service="probe"), what="three events waiting")
    stoppable_nats.start()
    await wait_for(
        _is(runtime, "outbox_pending_events", 0, service="probe"), timeout=30, what="the backlog published"
    )


async def test_published_events_have_their_relay_latency_observed(runtime: ServiceRuntime) -> None:
    assert runtime.pool is not None
    before = await scrape(runtime.admin.url)
    async with runtime.pool.acquire() as conn, conn.transaction():
        for n in range(4):
            await enqueue(
                conn, probe.CONTACT_APPLIED, new_workspace(), probe.ContactApplied(source_event_id=str(n))
            )
    await wait_for(
        _grew(runtime, before, "outbox_publish_latency_seconds_count", 4), what="four publish latencies"
    )


async def test_answered_requests_are_timed_and_counted_by_outcome(runtime: ServiceRuntime, nc: NATS) -> None:
    before = await scrape(runtime.admin.url)
    ws = new_workspace()
    for _ in range(2):
        await call(nc, probe.ECHO, probe.Echo(workspace=ws), timeout=5)
    with pytest.raises(NotFound):
        await call(nc, probe.ECHO, probe.Echo(workspace=ws, fail="not_found"), timeout=5)
    after = await scrape(runtime.admin.url)
    assert growth(before, after, "rpc_request_duration_seconds_count", operation="probe.echo") == 3
    assert growth(before, after, "rpc_requests_total", operation="probe.echo", outcome="ok") == 2
    assert growth(before, after, "rpc_requests_total", operation="probe.echo", outcome="not_found") == 1


async def test_a_call_nobody_answers_is_counted_unavailable(runtime: ServiceRuntime, nc: NATS) -> None:
    nobody = Operation("helper", f"absent.{uuid.uuid4().hex[:8]}", Empty, Empty, "served by no one")
    with pytest.raises(ServiceUnavailable):
        await call(nc, nobody, Empty(), timeout=0.5)
    samples = await scrape(runtime.admin.url)
    assert sample(samples, "rpc_calls_total", operation=f"helper.{nobody.name}", outcome="unavailable") == 1


def test_a_view_read_with_every_section_found_is_a_hit() -> None:
    assert view_cache_result(4, []) == "hit"


def test_a_view_read_with_some_sections_found_is_partial() -> None:
    assert view_cache_result(3, ["timeline"]) == "partial"


def test_a_view_read_with_no_section_found_is_a_miss() -> None:
    assert view_cache_result(0, ["profile", "notes", "timeline", "insights"]) == "miss"
