"""Wiring of the insights service: what it consumes, what it answers."""

from services.insights.config import Settings
from services.insights.handlers import CONSUMERS, ROUTES, Context, context
from shared.messages import profile, timeline
from shared.messages.insights import INTERFACE
from shared.runtime import ServiceDefinition

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE, Settings, context, ROUTES, CONSUMERS, calls=(timeline.GET_TRANSCRIPT, profile.GET_CUSTOMER)
)
