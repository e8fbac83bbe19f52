"""NATS side of the profile service: decode, call the use case, encode (the runtime validates)."""

import uuid

from pydantic import ValidationError

from services.profile import usecases
from services.profile.config import Settings
from shared.consumer import Delivery, connector_consumer
from shared.db import Connection
from shared.errors import ServiceError
from shared.events import ConnectorEvent
from shared.logging import get_logger
from shared.messages import insights, profile
from shared.rpc import Empty, ServiceUnavailable, call
from shared.runtime import Deps, route
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


async def get_customer(ctx: Context, request: profile.GetCustomer) -> profile.CustomerPart:
    """The customer's part of the profile view."""
    async with ctx.connection() as conn:
        return await usecases.get_customer(conn, request.workspace, request.customer_id)


async def update_customer(ctx: Context, request: profile.UpdateCustomer) -> profile.CustomerPart:
    """Apply a staff edit."""
    async with ctx.transaction() as conn:
        return await usecases.update_customer(conn, request)


async def list_customers(ctx: Context, request: profile.ListCustomers) -> profile.CustomersPage:
    """A page of the customer grid."""
    async with ctx.connection() as conn:
        return await usecases.list_customers(conn, request)


async def customer_history(ctx: Context, request: profile.ListHistory) -> profile.HistoryPage:
    """A page of a customer's edits."""
    async with ctx.connection() as conn:
        return await usecases.customer_history(conn, request)


async def list_tags(ctx: Context, request: profile.ListTags) -> profile.TagList:
    """The workspace's tag catalog."""
    async with ctx.connection() as conn:
        return await usecases.list_tags(conn, request.workspace)


async def create_tag(ctx: Context, request: profile.CreateTag) -> profile.Tag:
    """Add a tag to the catalog."""
    async with ctx.transaction() as conn:
        return await usecases.create_tag(conn, request)


async def update_tag(ctx: Context, request: profile.UpdateTag) -> profile.Tag:
    """Rename and/or recolour a tag."""
    async with ctx.transaction() as conn:
        return await usecases.update_tag(conn, request)


async def delete_tag(ctx: Context, request: profile.DeleteTag) -> Empty:
    """Delete a tag everywhere."""
    async with ctx.transaction() as conn:
        await usecases.delete_tag(conn, request)
    return Empty()


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

    async with ctx.connection() as conn:
        return await usecases.agent_context_of(conn, request, ai_profile)


ROUTES = [
    route(profile.GET_CUSTOMER, get_customer),
    route(profile.UPDATE_CUSTOMER, update_customer),
    route(profile.LIST_CUSTOMERS, list_customers),
    route(profile.LIST_HISTORY, customer_history),
    route(profile.LIST_TAGS, list_tags),
    route(profile.CREATE_TAG, create_tag),
    route(profile.UPDATE_TAG, update_tag),
    route(profile.DELETE_TAG, delete_tag),
    route(profile.GET_AGENT_CONTEXT, agent_context),
    route(profile.AGENT_CONTEXT, agent_context),
]
