"""Wiring of the insights service: what it consumes, what it answers."""

from services.insights.config import Settings
from services.insights.handlers import CONSUMERS, ROUTES, Context, context
from shared.messages import timeline
from shared.messages.insights import INTERFACE
from shared.runtime import ServiceDefinition
from shared.subjects import event_stream

definition: ServiceDefinition[Settings, Context] = ServiceDefinition(
    INTERFACE,
    Settings,
    context,
    ROUTES,
    CONSUMERS,
    binds=(event_stream(timeline.SERVICE),),
    calls=(timeline.GET_TRANSCRIPT,),
)
