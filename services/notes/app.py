"""Wiring of the notes service: what it consumes, what it answers."""

from services.notes.config import Settings
from services.notes.handlers import CONSUMERS, ROUTES, Context
from shared.messages import profile
from shared.messages.notes import INTERFACE
from shared.runtime import ServiceDefinition, plain_context

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE, Settings, plain_context, ROUTES, CONSUMERS, calls=(profile.GET_CUSTOMER,)
)
