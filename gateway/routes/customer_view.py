"""GET /v1/customers/{id}: the assembled profile view."""

from fastapi import APIRouter, Response

from gateway.auth import CurrentPrincipal
from gateway.deps import RequestId, Services
from gateway.view import assemble_view, etag_of, parse_customer_id

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get("/{customer_id}")
async def get_customer_view(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    response: Response,
) -> dict[str, object]:
    """The profile view, with ETag: "<version>"."""
    view = await assemble_view(services, principal.workspace, parse_customer_id(customer_id), request_id)
    etag = etag_of(view)
    if etag:
        response.headers["ETag"] = etag
    return view
