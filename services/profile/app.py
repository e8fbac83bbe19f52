"""Wiring of the profile service: what it consumes, what it answers."""

from pathlib import Path

from services.profile.handlers import ProfileOperations, chat_consumer
from shared.nats import StreamSpec
from shared.runtime import Deps, ServiceDefinition, Wiring
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the profile service."""
    operations = ProfileOperations(deps.pool, deps.nc, deps.settings.insights_timeout_seconds)
    return Wiring(consumers=[chat_consumer()], routes=operations.routes())


definition = ServiceDefinition(
    name="profile",
    migrations=Path(__file__).parent / "migrations",
    build=build,
    # The system owns the connector stream (CONTRACT.md §5); profile is its one declarer.
    declares=(StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]),),
)
