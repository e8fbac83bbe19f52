"""Wiring of the profile service: what it consumes, what it answers."""

from services.profile.config import Settings
from services.profile.handlers import CONSUMERS, ROUTES, Context
from shared.messages import insights
from shared.messages.profile import INTERFACE
from shared.nats import StreamSpec
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS

# The system owns the connector stream (CONTRACT.md §5); profile is its one declarer.
CHAT = StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS])

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE, Settings, plain_context, ROUTES, CONSUMERS, declares=(CHAT,), calls=(insights.GET_INSIGHTS,)
)
