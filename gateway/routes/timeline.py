"""GET /v1/customers/{id}/conversations and /escalations: the Conversations and Escalations tabs."""

import asyncio
import uuid
from typing import TypeVar

from fastapi import APIRouter

from gateway.auth import CurrentPrincipal
from gateway.deps import CustomerId, RequestId, Services
from gateway.pagination import PageQuery, Paging
from gateway.view import ensure_customer
from shared.messages import timeline
from shared.rpc import Operation

router = APIRouter(prefix="/v1/customers", tags=["timeline"])

Page = TypeVar("Page", timeline.ConversationPage, timeline.EscalationPage)
Request = TypeVar("Request", bound=timeline.ListConversations)


async def _page(
    operation: Operation[Request, Page],
    customer: uuid.UUID,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    paging: Paging,
) -> Page:
    """One page of a timeline list, 404 unless the customer exists, with its next cursor sealed."""
    request = operation.request(
        workspace=principal.workspace, customer_id=customer, limit=paging.limit, cursor=paging.cursor()
    )
    _, page = await asyncio.gather(
        ensure_customer(services, principal.workspace, customer, request_id),
        services.call(operation, request, request_id=request_id),
    )
    return paging.sealed(page)


@router.get("/{customer_id:uuid}/conversations")
async def list_conversations(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    paging: PageQuery,
) -> timeline.ConversationPage:
    """The customer's conversations across platforms, newest first."""
    return await _page(timeline.LIST_CONVERSATIONS, customer_id, principal, services, request_id, paging)


@router.get("/{customer_id:uuid}/escalations")
async def list_escalations(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    paging: PageQuery,
) -> timeline.EscalationPage:
    """The customer's escalations to humans, newest first."""
    return await _page(timeline.LIST_ESCALATIONS, customer_id, principal, services, request_id, paging)
