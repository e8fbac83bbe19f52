"""A service's admin port on a real replica: alive, ready or naming what is missing, metrics."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from deploy.embedded import EmbeddedNats, EmbeddedPostgres
from shared.db import provision
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.support import suite_password, wait_for


async def _get(runtime: ServiceRuntime, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=runtime.admin.url, timeout=10) as client:
        return await client.get(path, headers=headers)


async def _not_ready_naming(runtime: ServiceRuntime, name: str) -> list[str] | None:
    response = await _get(runtime, "/readyz")
    if response.status_code != 503:
        return None
    missing = [error["field"] for error in response.json()["errors"]]
    return missing if name in missing else None


async def _ready(runtime: ServiceRuntime) -> bool:
    return (await _get(runtime, "/readyz")).status_code == 200


async def test_healthz_answers_while_the_process_runs(runtime: ServiceRuntime) -> None:
    response = await _get(runtime, "/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_answers_200_once_database_nats_and_consumers_are_there(runtime: ServiceRuntime) -> None:
    response = await _get(runtime, "/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("", "text/plain; version=0.0.4; charset=utf-8"),
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text; version=1.0.0"),
    ],
    ids=["prometheus-text", "openmetrics"],
)
async def test_metrics_answer_in_the_format_the_scraper_asks_for(
    runtime: ServiceRuntime, accept: str, content_type: str
) -> None:
    response = await _get(runtime, "/metrics", accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    # Each consumer's outcomes and each operation's latency are there from zero, before any work.
    assert 'events_processed_total{consumer="probe-contacts",outcome="dead_lettered"} 0.0' in response.text
    assert 'rpc_request_duration_seconds_count{operation="probe.echo"} 0.0' in response.text


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test alone: it stops it."""
    server = EmbeddedPostgres(tmp_path / "postgres", password="own-postgres-password")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


async def test_readyz_names_the_database_while_postgresql_is_stopped_and_recovers(
    own_postgres: EmbeddedPostgres, start_probe: ServiceStarter
) -> None:
    url = await provision(own_postgres.url, "probe", suite_password("probe"))
    runtime = await start_probe(database_url=url)
    own_postgres.stop()
    missing = await wait_for(lambda: _not_ready_naming(runtime, "database"), what="database named missing")
    assert missing == ["database"]
    own_postgres.start()
    await wait_for(lambda: _ready(runtime), timeout=30, what="ready again")


async def test_readyz_names_nats_while_it_is_stopped_and_recovers(
    stoppable_nats: EmbeddedNats, runtime: ServiceRuntime
) -> None:
    stoppable_nats.stop()
    await wait_for(lambda: _not_ready_naming(runtime, "nats"), what="nats named missing")
    stoppable_nats.start()
    await wait_for(lambda: _ready(runtime), timeout=30, what="ready again")


async def test_readyz_names_a_consumer_that_is_no_longer_bound(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    await js.delete_consumer("CHAT", "probe-contacts")
    missing = await wait_for(
        lambda: _not_ready_naming(runtime, "consumer probe-contacts"), what="the consumer named missing"
    )
    assert missing == ["consumer probe-contacts"]
