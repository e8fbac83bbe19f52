"""Wiring of the timeline service: what it consumes, what it answers."""

from services.timeline.config import Settings
from services.timeline.handlers import CONSUMERS, ROUTES, Context
from shared.messages.timeline import INTERFACE
from shared.runtime import ServiceDefinition, plain_context

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE, Settings, plain_context, ROUTES, CONSUMERS
)
