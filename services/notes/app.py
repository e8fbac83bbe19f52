"""Wiring of the notes service: what it consumes, what it answers."""

from pathlib import Path

from services.notes.handlers import NoteOperations, customers_consumer
from shared.messages import profile
from shared.runtime import Deps, ServiceDefinition, Wiring
from shared.subjects import event_stream


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the notes service."""
    return Wiring(consumers=[customers_consumer()], routes=NoteOperations(deps.pool, deps.nc).routes())


definition = ServiceDefinition(
    name="notes",
    migrations=Path(__file__).parent / "migrations",
    build=build,
    binds=(event_stream(profile.SERVICE),),
)
