"""Wiring of the insights service: what it consumes, what it answers."""

from pathlib import Path

from shared.runtime import Deps, ServiceDefinition, Wiring


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the insights service."""
    return Wiring()


definition = ServiceDefinition(
    name="insights",
    migrations=Path(__file__).parent / "migrations",
    build=build,
)
