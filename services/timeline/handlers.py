"""NATS side of the timeline: decode, call the use case, encode (the runtime validates)."""

from services.timeline import usecases
from services.timeline.config import Settings
from services.timeline.service import ConversationEvent
from shared.consumer import DeadLetterError, Delivery, Subscribing, connector_consumer, event_consumer
from shared.db import Connection
from shared.events import ConnectorEvent, Event
from shared.messages import insights, timeline
from shared.runtime import Deps, Route, reading

Context = Deps[Settings]

# The connector events the timeline applies: all but contact.seen.
CHAT_TYPES = (
    "conversation.started",
    "conversation.message",
    "conversation.escalated",
    "escalation.handled",
    "conversation.closed",
)


async def apply_chat_events(
    _ctx: Context, conn: Connection, deliveries: list[Delivery[ConnectorEvent]]
) -> None:
    """Apply a batch of conversation and escalation events in the consumer's inbox transaction."""
    events: list[tuple[str, ConversationEvent]] = []
    for delivery in deliveries:
        if not isinstance(delivery.event, ConversationEvent):
            # Only reachable if the consumer's types and the event models drift apart.
            raise DeadLetterError(f"the timeline does not handle {type(delivery.event).__name__}")
        events.append((delivery.workspace, delivery.event))
    await usecases.apply_chat_events(conn, events)


async def apply_chat_event(ctx: Context, conn: Connection, delivery: Delivery[ConnectorEvent]) -> None:
    """Apply one connector event: a batch of one, so both paths share every rule."""
    await apply_chat_events(ctx, conn, [delivery])


async def apply_analysis(
    _ctx: Context, conn: Connection, delivery: Delivery[Event[insights.ConversationAnalysed]]
) -> None:
    """Store an insights analysis on its conversation."""
    await usecases.apply_analysis(conn, delivery.workspace, delivery.event.data)


CONSUMERS: list[Subscribing[Context]] = [
    connector_consumer("timeline-chat", CHAT_TYPES, apply_chat_event, handle_batch=apply_chat_events),
    event_consumer("timeline-insights", insights.CONVERSATION_ANALYSED, apply_analysis),
    *usecases.CUSTOMER_DATA.consumers(),
]


ROUTES: list[Route[Context]] = [
    reading(timeline.LIST_CONVERSATIONS, usecases.conversations),
    reading(timeline.LIST_ESCALATIONS, usecases.escalations),
    reading(timeline.COUNT_TIMELINE, usecases.counts),
    reading(timeline.GET_TRANSCRIPT, usecases.transcript),
    reading(timeline.LIST_MESSAGES, usecases.messages),
]
