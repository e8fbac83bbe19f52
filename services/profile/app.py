"""Wiring of the profile service: what it consumes, what it answers."""

from services.profile.config import Settings
from services.profile.handlers import CONSUMERS, ROUTES, Context
from services.profile.service import ERASING_SERVICES
from shared.messages import insights
from shared.messages.profile import INTERFACE
from shared.nats import StreamSpec
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS, event_stream

# The system owns the connector stream (CONTRACT.md §5); profile is its one declarer.
CHAT = StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS])

# Each erasing service confirms its part of an erasure on its own stream.
BINDS = tuple(event_stream(service) for service in ERASING_SERVICES)

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE,
    Settings,
    plain_context,
    ROUTES,
    CONSUMERS,
    binds=BINDS,
    declares=(CHAT,),
    calls=(insights.GET_INSIGHTS,),
)
