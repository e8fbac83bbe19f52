"""Wiring of the notes service: what it consumes, what it answers."""

from pathlib import Path

from shared.runtime import Deps, ServiceDefinition, Wiring


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the notes service."""
    return Wiring()


definition = ServiceDefinition(
    name="notes",
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
