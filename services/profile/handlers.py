"""NATS side of the profile service: decode, call the use case, encode (the runtime validates)."""

import uuid

from pydantic import ValidationError

from services.profile import usecases
from services.profile.config import Settings
from shared.consumer import Delivery, Subscribing, connector_consumer, event_consumer
from shared.db import Connection
from shared.errors import ServiceError
from shared.events import ConnectorEvent, Event, EventType
from shared.logging import get_logger
from shared.messages import ErasureApplied, insights, notes, profile, timeline
from shared.rpc import ServiceUnavailable, call
from shared.runtime import Deps, Route, reading, route, writing
from shared.subjects import CHAT_TYPES

log = get_logger(__name__)

Context = Deps[Settings]

CHAT_DURABLE = "profile-chat"


async def apply_chat_events(
    _ctx: Context, conn: Connection, deliveries: list[Delivery[ConnectorEvent]]
) -> None:
    """Apply a batch of connector events in the consumer's inbox transaction."""
    await usecases.apply_connector_events(conn, [(d.workspace, d.event) for d in deliveries])


async def apply_chat_event(ctx: Context, conn: Connection, delivery: Delivery[ConnectorEvent]) -> None:
    """Apply one connector event: a batch of one, so both paths share every rule."""
    await apply_chat_events(ctx, conn, [delivery])


CHAT_CONSUMER = connector_consumer(CHAT_DURABLE, CHAT_TYPES, apply_chat_event, handle_batch=apply_chat_events)


def erasure_consumer(event_type: EventType[ErasureApplied]) -> Subscribing[Context]:
    """A consumer of one service's customer.erased: that service's part of an erasure is done."""

    async def confirm(_ctx: Context, conn: Connection, delivery: Delivery[Event[ErasureApplied]]) -> None:
        await usecases.confirm_erasure(conn, event_type.service, delivery.event)

    return event_consumer(f"profile-{event_type.service}-erasures", event_type, confirm)


CONSUMERS: list[Subscribing[Context]] = [
    CHAT_CONSUMER,
    *(erasure_consumer(service.CUSTOMER_ERASED) for service in (notes, timeline, insights)),
]


async def agent_context(ctx: Context, request: profile.GetAgentContext) -> profile.AgentContext:
    """AgentContext of a platform identity, asked through the gateway or on the agent's subject."""

    async def ai_profile(workspace: str, customer_id: uuid.UUID) -> insights.AiProfile | None:
        """The AI profile from insights, or None if it does not answer in time."""
        try:
            answer = await call(
                ctx.nc,
                insights.GET_INSIGHTS,
                insights.GetInsights(workspace=workspace, customer_id=str(customer_id)),
                timeout=ctx.settings.insights_timeout_seconds,
            )
        except (ServiceUnavailable, ServiceError, ValidationError) as exc:
            log.info("ai_profile_unavailable", customer_id=str(customer_id), error=repr(exc))
            return None
        return answer.ai_profile

    async with ctx.pool.acquire() as conn:
        return await usecases.agent_context_of(conn, request, ai_profile)


ROUTES: list[Route[Context]] = [
    reading(profile.GET_CUSTOMER, usecases.get_customer),
    writing(profile.UPDATE_CUSTOMER, usecases.update_customer),
    reading(profile.LIST_CUSTOMERS, usecases.list_customers),
    writing(profile.BULK_TAG_CUSTOMERS, usecases.bulk_tag_customers),
    reading(profile.LIST_HISTORY, usecases.customer_history),
    reading(profile.LIST_TAGS, usecases.list_tags),
    writing(profile.CREATE_TAG, usecases.create_tag),
    writing(profile.UPDATE_TAG, usecases.update_tag),
    writing(profile.DELETE_TAG, usecases.delete_tag),
    writing(profile.MERGE_CUSTOMERS, usecases.merge_customers),
    writing(profile.ERASE_CUSTOMER, usecases.erase_customer),
    reading(profile.GET_ERASURE, usecases.get_erasure),
    route(profile.GET_AGENT_CONTEXT, agent_context),
    route(profile.AGENT_CONTEXT, agent_context),
]
