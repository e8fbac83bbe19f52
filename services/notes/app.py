"""Wiring of the notes service: what it consumes, what it answers."""

from services.notes.config import Settings
from services.notes.handlers import CONSUMERS, ROUTES, Context
from shared.messages import profile
from shared.messages.notes import INTERFACE
from shared.runtime import ServiceDefinition, plain_context
from shared.subjects import event_stream

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE,
    Settings,
    plain_context,
    ROUTES,
    CONSUMERS,
    binds=(event_stream(profile.SERVICE),),
    calls=(profile.GET_CUSTOMER,),
)
