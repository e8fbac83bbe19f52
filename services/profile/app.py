"""Wiring of the profile service: what it consumes, what it answers."""

from pathlib import Path

from services.profile.config import Settings
from services.profile.handlers import CHAT_CONSUMER, ROUTES, Context
from shared.messages.profile import INTERFACE
from shared.nats import StreamSpec
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    interface=INTERFACE,
    settings=Settings,
    migrations=Path(__file__).parent / "migrations",
    context=plain_context,
    routes=ROUTES,
    consumers=[CHAT_CONSUMER],
    # The system owns the connector stream (CONTRACT.md §5); profile is its one declarer.
    declares=(StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]),),
)
