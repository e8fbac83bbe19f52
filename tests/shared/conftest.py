"""The probe service on the suite's real servers, started one way for every test of the shared runtime."""

import pytest

from deploy.embedded import EmbeddedNats
from shared.config import ServiceSettings
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.shared import probe


@pytest.fixture
def probe_settings() -> dict[str, object]:
    """What the probe's settings change from the defaults; a test module overrides this to tune them."""
    return {}


@pytest.fixture
def start_probe(start_service: ServiceStarter, probe_settings: dict[str, object]) -> ServiceStarter:
    """Factory that starts a probe replica with the module's settings and a test's own overrides.

    Pass `database_url=` to start a second replica on the same database.
    """

    async def start(**overrides: object) -> ServiceRuntime:
        return await start_service(probe.definition, ServiceSettings, **{**probe_settings, **overrides})

    return start


@pytest.fixture
async def runtime(start_probe: ServiceStarter) -> ServiceRuntime:
    """A running probe replica."""
    return await start_probe()


@pytest.fixture
def stoppable_nats(nats_server: EmbeddedNats | None) -> EmbeddedNats:
    """The test's own NATS server, for a test that stops it (skipped on an external NATS_URL)."""
    if nats_server is None:
        pytest.skip("NATS_URL points at a server this test cannot stop")
    return nats_server
