"""The customer grid, profile edits and their history, and the AI agent's customer context."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, RequestId, Services
from gateway.pagination import DEFAULT_LIMIT, Limit, PageCursors
from gateway.routes.customer_view import VIEW_RESPONSE
from gateway.routes.problems import problem_responses
from gateway.view import parse_customer_id, view_answer
from shared.events import Platform
from shared.messages import profile
from shared.validation import Text

router = APIRouter(tags=["customers"])


def parse_if_match(header: str | None) -> list[int] | None:
    """Versions an If-Match accepts (`"3"`, `3`, `W/"3"`, lists); None when absent or `*`."""
    if header is None or not header.strip():
        return None
    versions: list[int] = []
    for part in header.split(","):
        tag = part.strip()
        if tag == "*":
            return None
        tag = tag.removeprefix("W/").strip().strip('"')
        # Anything that is not a version matches no version: the write is refused with 412.
        if tag.isascii() and tag.isdigit() and len(tag) <= 9:
            versions.append(int(tag))
    return versions


@router.get("/v1/customers", responses=problem_responses(503))
async def list_customers(
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    q: Annotated[Text | None, Query(max_length=200)] = None,
    tag: Annotated[uuid.UUID | None, Query()] = None,
    platform: Annotated[Platform | None, Query()] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[Text | None, Query()] = None,
) -> profile.CustomersPage:
    """The customer grid: `q` matches name, phone, email and platform ids; filters by tag and platform."""
    query = profile.ListCustomers(
        workspace=principal.workspace,
        q=q,
        tag=tag,
        platform=platform,
        limit=limit,
        cursor=cursors.open(cursor),
    )
    page = await services.call(profile.LIST_CUSTOMERS, query, request_id=request_id)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.patch(
    "/v1/customers/{customer_id}",
    response_model=None,
    responses={**VIEW_RESPONSE, **problem_responses(404, 412, 413, 503)},
)
async def edit_customer(
    customer_id: str,
    body: profile.ProfileEdit,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
    request: Request,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Edit profile fields; with If-Match, only at that version (else 412). Returns the profile view."""
    customer = parse_customer_id(customer_id)
    command = profile.UpdateCustomer(
        workspace=principal.workspace,
        customer_id=customer,
        edit=body,
        if_match=parse_if_match(if_match),
        actor=profile.Actor(id=principal.user_id, name=principal.name),
    )
    await services.call(profile.UPDATE_CUSTOMER, command, request_id=request_id)
    # Read your own write: the cached profile part must not outlive the edit until its event arrives.
    await cache.invalidate(principal.workspace, str(customer), profile.SERVICE)
    return await view_answer(request, services, cache, principal.workspace, customer, request_id)


@router.get("/v1/customers/{customer_id}/history", responses=problem_responses(404, 503))
async def customer_history(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[Text | None, Query()] = None,
) -> profile.HistoryPage:
    """Who changed which profile fields, old and new values, newest first."""
    query = profile.ListHistory(
        workspace=principal.workspace,
        customer_id=parse_customer_id(customer_id),
        limit=limit,
        cursor=cursors.open(cursor),
    )
    page = await services.call(profile.LIST_HISTORY, query, request_id=request_id)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.get("/v1/agent-context", responses=problem_responses(404, 503))
async def agent_context(
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    platform: Annotated[Platform, Query()],
    platform_user_id: Annotated[Text, Query(min_length=1, max_length=256)],
) -> profile.AgentContext:
    """What the AI chat agent reads about the customer of a platform identity; 404 if unknown."""
    query = profile.GetAgentContext(
        workspace=principal.workspace, platform=platform, platform_user_id=platform_user_id
    )
    return await services.call(profile.GET_AGENT_CONTEXT, query, request_id=request_id)
