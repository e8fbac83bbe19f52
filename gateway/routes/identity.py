"""Merging duplicate customers and erasing a customer everywhere (CONTRACT.md §7)."""

import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from gateway.auth import AdminPrincipal, CurrentPrincipal
from gateway.cache import SECTIONS
from gateway.deps import Cache, CustomerId, ErasureId, RequestId, Services
from gateway.routes.customer_view import VIEW_RESPONSE
from gateway.view import view_answer
from shared.messages import profile

router = APIRouter(tags=["identity"])


class ErasureStarted(BaseModel):
    """An erasure just requested: `GET /v1/erasures/{erasure_id}` follows it until it is done."""

    erasure_id: uuid.UUID
    customer_id: uuid.UUID
    status: Literal["pending"]


@router.post(
    "/v1/customers/{customer_id:uuid}/merge",
    response_model=None,
    responses=VIEW_RESPONSE,
)
async def merge_customer(
    customer_id: CustomerId,
    body: profile.MergeSource,
    request: Request,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Response:
    """Merge the customer `source_id` into this one, which keeps its id; returns its profile view.

    Identities, notes, conversations and escalations of the source are this customer's from now
    on; each editable field keeps this customer's value and takes the source's where this one's
    is empty; tags are the union. The source's id then answers 404 with `merged_into` on every
    route. Repeating a merge that happened changes nothing; merging a customer into itself: 422.
    """
    command = profile.MergeCustomers(
        workspace=principal.workspace,
        customer_id=customer_id,
        source_id=body.source_id,
        actor=profile.Actor(id=principal.user_id, name=principal.name),
    )
    await services.call(profile.MERGE_CUSTOMERS, command, request_id=request_id)
    # Read your own write: neither customer's cached parts may outlive the merge until its events.
    for changed in (customer_id, body.source_id):
        await cache.invalidate(principal.workspace, str(changed), *SECTIONS)
    return await view_answer(request, services, cache, principal.workspace, customer_id, request_id)


@router.delete("/v1/customers/{customer_id:uuid}", status_code=202)
async def erase_customer(
    customer_id: CustomerId,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> ErasureStarted:
    """Erase the customer everywhere (admins only): its profile at once, every other service's
    data as each gets to it, however long it is down. The id answers 404 from now on."""
    command = profile.EraseCustomer(
        workspace=principal.workspace,
        customer_id=customer_id,
        actor=profile.Actor(id=principal.user_id, name=principal.name),
    )
    erasure = await services.call(profile.ERASE_CUSTOMER, command, request_id=request_id)
    await cache.invalidate(principal.workspace, str(customer_id), *SECTIONS)
    return ErasureStarted(erasure_id=erasure.erasure_id, customer_id=erasure.customer_id, status="pending")


@router.get("/v1/erasures/{erasure_id:uuid}")
async def get_erasure(
    erasure_id: ErasureId, principal: AdminPrincipal, services: Services, request_id: RequestId
) -> profile.Erasure:
    """Where an erasure stands (admins only): `done`, with `completed_at`, once every service has
    deleted what it held."""
    query = profile.GetErasure(workspace=principal.workspace, erasure_id=erasure_id)
    return await services.call(profile.GET_ERASURE, query, request_id=request_id)
