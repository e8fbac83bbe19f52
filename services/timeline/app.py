"""Wiring of the timeline service: what it consumes, what it answers."""

from pathlib import Path

from services.timeline.config import Settings
from services.timeline.handlers import CONSUMERS, ROUTES, Context
from shared.messages import insights
from shared.messages.timeline import INTERFACE
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import CHAT_STREAM, event_stream

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    interface=INTERFACE,
    settings=Settings,
    migrations=Path(__file__).parent / "migrations",
    context=plain_context,
    routes=ROUTES,
    consumers=CONSUMERS,
    # CHAT is declared by the profile service, INSIGHTS by the insights service.
    binds=(CHAT_STREAM, event_stream(insights.SERVICE)),
)
