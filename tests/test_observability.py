"""CONTRACT.md §9 on `make run`'s stack: every process as its own process, spans sent to an OTLP
receiver this module runs, the gateway with two workers."""

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from deploy.embedded import free_port
from deploy.stack import ADMIN_URL_KEYS, LocalStack
from shared.ids import customer_id_for
from shared.memory import memory_parent
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from tests.otlp import OtlpReceiver, ReceivedSpan
from tests.support import (
    connector_event,
    growth,
    new_traceparent,
    publish_event,
    sample,
    scrape,
    wait_for,
)

PROCESSES = (*SERVICE_NAMES, "gateway")
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP span kinds


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """Where every process of the stack exports its spans."""
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def stack(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole system as `make run` starts it, exporting spans every 100 ms."""
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DEMO")}
    environ.update(
        GATEWAY_PORT=str(free_port()),
        GATEWAY_WORKERS="2",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    running = LocalStack(tmp_path_factory.mktemp("observed") / ".run", environ=environ)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def env(stack: LocalStack) -> dict[str, str]:
    """What the stack wrote to .run/env."""
    lines = (stack.run_dir / "env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def _dev(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {env['DEV_TOKEN']}"}


async def _seed_contact(env: dict[str, str], user: str, headers: dict[str, str] | None = None) -> str:
    nc = await connect(env["NATS_URL"], "observability-test", env["NATS_USER"], env["NATS_PASSWORD"])
    try:
        event = connector_event("web", user, display_name="Observed Person")
        await publish_event(nc.jetstream(), "demo", "contact.seen", event, headers=headers)
    finally:
        await nc.close()
    return str(customer_id_for("demo", "web", user))


async def _known(env: dict[str, str], customer_id: str) -> None:
    async with httpx.AsyncClient(base_url=env["GATEWAY_URL"], headers=_dev(env)) as client:

        async def header() -> bool:
            response = await client.get(f"/v1/customers/{customer_id}")
            return response.status_code == 200 and response.json()["header"] is not None

        await wait_for(header, timeout=30, what="the customer known to the profile service")


async def _spans(
    receiver: OtlpReceiver, trace_id: str, expected: set[tuple[str, str, int]]
) -> list[ReceivedSpan]:
    """The trace's spans once (service, name, kind) of each expected one has arrived."""

    async def arrived() -> list[ReceivedSpan] | None:
        spans = receiver.of_trace(trace_id)
        return spans if expected <= {(s.service, s.name, s.kind) for s in spans} else None

    try:
        return await wait_for(arrived, timeout=30, what="the trace's spans")
    except AssertionError:
        got = {(s.service, s.name, s.kind) for s in receiver.of_trace(trace_id)}
        raise AssertionError(f"spans missing: {sorted(expected - got)}; arrived: {sorted(got)}") from None


async def _log_line(stack: LocalStack, request_id: str) -> dict[str, Any]:
    async def logged() -> dict[str, Any] | None:
        for line in (stack.run_dir / "logs" / "gateway.log").read_text().splitlines():
            if request_id in line:
                entry: dict[str, Any] = orjson.loads(line)
                return entry
        return None

    return await wait_for(logged, what="the request's access-log line")


def test_run_env_lists_one_admin_url_per_process(env: dict[str, str]) -> None:
    urls = [env[key] for key in ADMIN_URL_KEYS]
    assert tuple(f"{name.upper()}_ADMIN_URL" for name in PROCESSES) == ADMIN_URL_KEYS
    assert len(set(urls)) == len(PROCESSES)
    assert all(url.startswith("http://127.0.0.1:") for url in urls)


@pytest.mark.parametrize("process", PROCESSES)
async def test_healthz_answers_on_each_admin_port(env: dict[str, str], process: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(env[f"{process.upper()}_ADMIN_URL"] + "/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("process", PROCESSES)
async def test_readyz_answers_200_on_each_admin_port(env: dict[str, str], process: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(env[f"{process.upper()}_ADMIN_URL"] + "/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize("process", PROCESSES)
async def test_metrics_on_each_admin_port_report_it_ready(env: dict[str, str], process: str) -> None:
    url = env[f"{process.upper()}_ADMIN_URL"]

    async def ready() -> bool:
        return sample(await scrape(url), "ready", service=process) == 1

    await wait_for(ready, what=f"{process} reporting ready")


async def test_the_public_port_serves_no_metrics(env: dict[str, str]) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(env["GATEWAY_URL"] + "/metrics")).status_code == 404


async def test_one_scrape_of_the_gateway_counts_the_requests_of_every_worker(
    stack: LocalStack, env: dict[str, str]
) -> None:
    labels = {"method": "GET", "route": "/v1/reference/countries", "status": "200"}
    before = await scrape(env["GATEWAY_ADMIN_URL"])
    for _ in range(40):
        # A connection each: the kernel hands new connections to either worker.
        async with httpx.AsyncClient(base_url=env["GATEWAY_URL"], headers=_dev(env)) as client:
            assert (await client.get("/v1/reference/countries")).status_code == 200
    after = await scrape(env["GATEWAY_ADMIN_URL"])
    assert growth(before, after, "http_requests_total", **labels) == 40
    assert len(list(stack.metrics_dir("gateway").glob("counter_*.db"))) == 2


def test_the_gateway_workers_keep_their_metric_files_in_memory(stack: LocalStack) -> None:
    folder = stack.metrics_dir("gateway")
    assert folder.parent.parent == memory_parent()
    assert any(folder.glob("*.db"))


async def test_one_trace_follows_a_patch_into_the_service_and_the_event_it_causes(
    env: dict[str, str], receiver: OtlpReceiver
) -> None:
    customer_id = await _seed_contact(env, f"patched-{uuid.uuid4().hex[:8]}")
    await _known(env, customer_id)
    trace_id, traceparent = new_traceparent()
    async with httpx.AsyncClient(base_url=env["GATEWAY_URL"]) as client:
        response = await client.patch(
            f"/v1/customers/{customer_id}",
            json={"location": "Dubai Marina"},
            headers={**_dev(env), "traceparent": traceparent},
        )
    assert response.status_code == 200, response.text
    spans = await _spans(
        receiver,
        trace_id,
        {
            ("gateway", "PATCH /v1/customers/{customer_id}", SERVER),
            ("gateway", "profile.customer.update", CLIENT),
            ("profile", "profile.customer.update", SERVER),
            ("profile", "transaction", CLIENT),
            ("profile", "outbox publish", PRODUCER),
            ("gateway", "process live-hub", CONSUMER),
        },
    )
    by_id = {span.span_id: span for span in spans}
    http = next(span for span in spans if span.kind == SERVER and span.service == "gateway")
    assert http.parent_span_id == traceparent.split("-")[2]
    # Each hop is a child of the one before it: HTTP, RPC out, RPC in, outbox, live hub.
    live = next(span for span in spans if span.name == "process live-hub")
    chain = [live.name]
    while live.parent_span_id in by_id:
        live = by_id[live.parent_span_id]
        chain.append(live.name)
    assert chain[-1] == "PATCH /v1/customers/{customer_id}"
    assert "outbox publish" in chain and "profile.customer.update" in chain


async def test_a_connector_events_trace_continues_in_every_consumer_it_reaches(
    env: dict[str, str], receiver: OtlpReceiver
) -> None:
    trace_id, traceparent = new_traceparent()
    await _seed_contact(env, f"traced-{uuid.uuid4().hex[:8]}", headers={"traceparent": traceparent})
    await _spans(
        receiver,
        trace_id,
        {
            ("profile", "process profile-chat", CONSUMER),
            ("profile", "outbox publish", PRODUCER),
            # customer.created, written by profile's handling, handled by notes and the live hub.
            ("notes", "process notes-customers", CONSUMER),
            ("gateway", "process live-hub", CONSUMER),
        },
    )


async def test_the_access_log_has_a_json_line_per_request_and_no_token(
    stack: LocalStack, env: dict[str, str]
) -> None:
    customer_id = await _seed_contact(env, f"logged-{uuid.uuid4().hex[:8]}")
    await _known(env, customer_id)
    request_id = f"access-log-{uuid.uuid4().hex}"
    url = f"/v1/customers/{customer_id}/events?access_token={env['DEV_TOKEN']}"
    async with (
        httpx.AsyncClient(base_url=env["GATEWAY_URL"]) as client,
        client.stream("GET", url, headers={"X-Request-Id": request_id}) as response,
    ):
        assert response.status_code == 200
    line = await _log_line(stack, request_id)
    assert {key: line[key] for key in ("event", "method", "route", "status", "workspace")} == {
        "event": "http_request",
        "method": "GET",
        "route": "/v1/customers/{customer_id}/events",
        "status": 200,
        "workspace": "demo",
    }
    assert line["duration_ms"] >= 0
    log = (stack.run_dir / "logs" / "gateway.log").read_text()
    assert env["DEV_TOKEN"] not in log
    assert "access_token" not in log


async def test_the_access_log_line_of_a_traced_request_names_its_trace(
    stack: LocalStack, env: dict[str, str]
) -> None:
    trace_id, traceparent = new_traceparent()
    request_id = f"traced-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=env["GATEWAY_URL"]) as client:
        headers = {**_dev(env), "X-Request-Id": request_id, "traceparent": traceparent}
        assert (await client.get("/v1/reference/languages", headers=headers)).status_code == 200
    line = await _log_line(stack, request_id)
    assert line["trace_id"] == trace_id
    assert line["span_id"] != traceparent.split("-")[2]  # the gateway's own span, a child of the caller's
