"""GET /v1/customers/{id}: the assembled profile view."""

from fastapi import APIRouter, Request, Response

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, RequestId, Services
from gateway.view import assemble_view, etag_of, parse_customer_id

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get("/{customer_id}")
async def get_customer_view(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
    request: Request,
    response: Response,
) -> dict[str, object]:
    """The profile view, with ETag: "<version>"."""
    view = await assemble_view(
        services,
        principal.workspace,
        parse_customer_id(customer_id),
        request_id,
        cache=cache,
        timeout=request.app.state.settings.view_timeout,
    )
    etag = etag_of(view)
    if etag:
        response.headers["ETag"] = etag
    return view
