"""GET /v1/customers/{id}: the assembled profile view."""

import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, CustomerId, RequestId, Services
from gateway.view import view_answer
from shared.messages.insights import AiProfile, AverageSentiment
from shared.messages.profile import CustomerHeader, CustomerProfile

router = APIRouter(prefix="/v1/customers", tags=["customers"])


# The view's shape for the OpenAPI (CONTRACT.md §4). Documentation only: gateway/view.py renders the
# view from the services' parts, and the schemathesis suite checks every answer against this.
class ViewHeader(CustomerHeader):
    """The header card; `sentiment` is null when insights did not answer."""

    sentiment: AverageSentiment | None


class ViewCounts(BaseModel):
    """The tabs' counts (zero for a section that did not answer)."""

    notes: int
    conversations: int
    escalations: int


class ProfileView(BaseModel):
    """The profile view; sections whose service did not answer are null and named in `unavailable`."""

    id: uuid.UUID
    header: ViewHeader | None
    profile: CustomerProfile | None
    ai_profile: AiProfile | None
    counts: ViewCounts
    unavailable: list[Literal["profile", "notes", "timeline", "insights"]]


VIEW_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "model": ProfileView,
        "description": 'The profile view, with ETag: "<version>"',
        "headers": {
            "ETag": {"description": 'The profile\'s version, `"<version>"`', "schema": {"type": "string"}}
        },
    }
}


@router.get("/{customer_id:uuid}", response_model=None, responses=VIEW_RESPONSE)
async def get_customer_view(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
    request: Request,
) -> Response:
    """The profile view, with ETag: "<version>"."""
    return await view_answer(request, services, cache, principal.workspace, customer_id, request_id)
