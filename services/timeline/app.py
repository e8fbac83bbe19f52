"""Wiring of the timeline service: what it consumes, what it answers."""

from services.timeline.config import Settings
from services.timeline.handlers import CONSUMERS, ROUTES, Context
from shared.messages import insights, profile
from shared.messages.timeline import INTERFACE
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import CHAT_STREAM, event_stream

# CHAT and PROFILE are declared by the profile service, INSIGHTS by the insights service.
BINDS = (CHAT_STREAM, event_stream(profile.SERVICE), event_stream(insights.SERVICE))

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE, Settings, plain_context, ROUTES, CONSUMERS, binds=BINDS
)
