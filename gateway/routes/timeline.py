"""GET /v1/customers/{id}/conversations and /escalations: the Conversations and Escalations tabs."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.auth import CurrentPrincipal
from gateway.deps import RequestId, Services
from gateway.pagination import DEFAULT_LIMIT, Cursors, Limit
from gateway.routes.problems import problem_responses
from gateway.view import ensure_customer, parse_customer_id
from shared.messages import timeline

router = APIRouter(prefix="/v1/customers", tags=["timeline"])

PageCursors = Annotated[Cursors, Depends(Cursors)]
Cursor = Annotated[str | None, Query(max_length=4096)]


@router.get("/{customer_id}/conversations", responses=problem_responses(404, 503))
async def list_conversations(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> timeline.ConversationPage:
    """The customer's conversations across platforms, newest first."""
    customer = parse_customer_id(customer_id)
    payload = {
        "workspace": principal.workspace,
        "customer_id": customer,
        "limit": limit,
        "cursor": cursors.open(cursor),
    }
    _, answer = await asyncio.gather(
        ensure_customer(services, principal.workspace, customer, request_id),
        services.call(timeline.SERVICE, timeline.OP_CONVERSATIONS_LIST, payload, request_id=request_id),
    )
    page = timeline.ConversationPage.model_validate(answer)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.get("/{customer_id}/escalations", responses=problem_responses(404, 503))
async def list_escalations(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> timeline.EscalationPage:
    """The customer's escalations to humans, newest first."""
    customer = parse_customer_id(customer_id)
    payload = {
        "workspace": principal.workspace,
        "customer_id": customer,
        "limit": limit,
        "cursor": cursors.open(cursor),
    }
    _, answer = await asyncio.gather(
        ensure_customer(services, principal.workspace, customer, request_id),
        services.call(timeline.SERVICE, timeline.OP_ESCALATIONS_LIST, payload, request_id=request_id),
    )
    page = timeline.EscalationPage.model_validate(answer)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})
