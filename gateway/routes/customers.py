"""The customer grid, profile edits and their history, and the AI agent's customer context."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, CustomerId, RequestId, Services
from gateway.pagination import DEFAULT_LIMIT, Cursor, Limit, PageCursors, PageQuery
from gateway.routes.customer_view import VIEW_RESPONSE
from gateway.routes.problems import problem_responses
from gateway.view import view_answer
from shared.events import Platform
from shared.messages import profile
from shared.validation import Text

router = APIRouter(tags=["customers"])

SORT_DESCRIPTION = (
    "The order: `created_at`, `name` or `last_contact_at`, descending with a leading `-` "
    f"(default `{profile.DEFAULT_GRID_SORT}`, newest first). Names sort case- and accent-insensitively; "
    "ties go by id. A cursor continues the order it was issued for: under another `sort` it is a 422."
)


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


@router.get("/v1/customers")
async def list_customers(
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    q: Annotated[Text | None, Query(max_length=200)] = None,
    tag: Annotated[uuid.UUID | None, Query()] = None,
    platform: Annotated[Platform | None, Query()] = None,
    sort: Annotated[profile.GridSort, Query(description=SORT_DESCRIPTION)] = profile.DEFAULT_GRID_SORT,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> profile.CustomersPage:
    """The customer grid: `q` matches name, phone, email and platform ids; filters by tag and platform;
    `sort` orders it, with keyset cursors per order."""
    query = profile.ListCustomers(
        workspace=principal.workspace,
        q=q,
        tag=tag,
        platform=platform,
        sort=sort,
        limit=limit,
        cursor=cursors.open(cursor),
    )
    page = await services.call(profile.LIST_CUSTOMERS, query, request_id=request_id)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.post("/v1/customers/bulk-tags")
async def bulk_tags(
    body: profile.BulkTagEdit,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> profile.BulkTagResult:
    """Add tags to and take tags off many customers at once (agent or admin).

    All or nothing: a customer or tag id that is not of the workspace (unknown or another
    workspace's alike) is a 422 naming it (`customer_ids.<i>`, `add.<i>`, `remove.<i>`), as is a
    tag both added and removed or a customer left with more than 100 tags. Each customer whose tags
    change gets one change-history entry and one `customer.updated` event, as a PATCH of `tag_ids`
    does; `unchanged` lists those that already were as asked.
    """
    command = profile.BulkTagCustomers(
        workspace=principal.workspace,
        edit=body,
        actor=profile.Actor(id=principal.user_id, name=principal.name),
    )
    result = await services.call(profile.BULK_TAG_CUSTOMERS, command, request_id=request_id)
    # Read your own write: cached profile parts must not outlive the edit until its events arrive.
    for customer in result.changed:
        await cache.invalidate(principal.workspace, str(customer), profile.SERVICE)
    return result


@router.patch(
    "/v1/customers/{customer_id:uuid}",
    response_model=None,
    responses={**VIEW_RESPONSE, **problem_responses(412)},
)
async def edit_customer(
    customer_id: CustomerId,
    body: profile.ProfileEdit,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
    request: Request,
    if_match: Annotated[
        str | None, Header(description='The version the edit is for: `"3"`, `W/"3"`, `3` or a list; `*` any')
    ] = None,
) -> Response:
    """Edit profile fields; with If-Match, only at that version (else 412). Returns the profile view."""
    command = profile.UpdateCustomer(
        workspace=principal.workspace,
        customer_id=customer_id,
        edit=body,
        if_match=parse_if_match(if_match),
        actor=profile.Actor(id=principal.user_id, name=principal.name),
    )
    await services.call(profile.UPDATE_CUSTOMER, command, request_id=request_id)
    # Read your own write: the cached profile part must not outlive the edit until its event arrives.
    await cache.invalidate(principal.workspace, str(customer_id), profile.SERVICE)
    return await view_answer(request, services, cache, principal.workspace, customer_id, request_id)


@router.get("/v1/customers/{customer_id:uuid}/history")
async def customer_history(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    paging: PageQuery,
) -> profile.HistoryPage:
    """Who changed which profile fields, old and new values, newest first."""
    query = profile.ListHistory(
        workspace=principal.workspace,
        customer_id=customer_id,
        limit=paging.limit,
        cursor=paging.cursor(),
    )
    page = await services.call(profile.LIST_HISTORY, query, request_id=request_id)
    return paging.sealed(page)


@router.get("/v1/agent-context", responses=problem_responses(404))
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
