"""The one list of services: `make run`, readiness, dead letters, the live hub, the view cache and the
documents all read it. Adding a service starts here.
"""

import importlib
from typing import TYPE_CHECKING

from shared.events import EventKind, ServiceInterface
from shared.messages import insights, notes, profile, timeline

if TYPE_CHECKING:
    from shared.runtime import Deployable

SERVICES: tuple[ServiceInterface, ...] = (
    profile.INTERFACE,
    notes.INTERFACE,
    timeline.INTERFACE,
    insights.INTERFACE,
)
SERVICE_NAMES: tuple[str, ...] = tuple(service.name for service in SERVICES)


def event_type(service: str, name: str) -> EventKind | None:
    """The event type a service emits under `name`, if any."""
    for interface in SERVICES:
        if interface.name == service:
            return interface.event_type(name)
    return None


def definitions() -> list["Deployable"]:
    """The definition of every service (services/<name>/app.py), in registry order."""
    return [importlib.import_module(f"services.{name}.app").definition for name in SERVICE_NAMES]
