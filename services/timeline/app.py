"""Wiring of the timeline service: what it consumes, what it answers."""

from pathlib import Path

from shared.runtime import Deps, ServiceDefinition, Wiring


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the timeline service."""
    return Wiring()


definition = ServiceDefinition(
    name="timeline",
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
