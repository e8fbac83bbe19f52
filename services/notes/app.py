"""Wiring of the notes service: what it consumes, what it answers."""

from pathlib import Path

from services.notes.config import Settings
from services.notes.handlers import CUSTOMERS_CONSUMER, ROUTES, Context
from shared.messages import profile
from shared.messages.notes import INTERFACE
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import event_stream

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    interface=INTERFACE,
    settings=Settings,
    migrations=Path(__file__).parent / "migrations",
    context=plain_context,
    routes=ROUTES,
    consumers=[CUSTOMERS_CONSUMER],
    binds=(event_stream(profile.SERVICE),),
)
