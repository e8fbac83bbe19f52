"""Wiring of the timeline service: what it consumes, what it answers."""

from pathlib import Path

from services.timeline.handlers import TimelineOperations, consumers
from shared.messages import insights
from shared.runtime import Deps, ServiceDefinition, Wiring
from shared.subjects import CHAT_STREAM, event_stream


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the timeline service."""
    return Wiring(consumers=consumers(), routes=TimelineOperations(deps.pool).routes())


definition = ServiceDefinition(
    name="timeline",
    migrations=Path(__file__).parent / "migrations",
    build=build,
    # CHAT is declared by the profile service, INSIGHTS by the insights service.
    binds=(CHAT_STREAM, event_stream(insights.SERVICE)),
)
