"""The workspace's tag catalog: everyone reads it, admins manage it."""

from fastapi import APIRouter, Response

from gateway.auth import AdminPrincipal, CurrentPrincipal
from gateway.deps import Cache, RequestId, Services
from gateway.routes.problems import problem_responses
from gateway.view import parse_id
from shared.messages import profile

router = APIRouter(prefix="/v1/tags", tags=["tags"])


@router.get("", responses=problem_responses(503))
async def list_tags(
    principal: CurrentPrincipal, services: Services, request_id: RequestId
) -> profile.TagList:
    """Every tag of the workspace."""
    query = profile.ListTags(workspace=principal.workspace)
    return await services.call(profile.LIST_TAGS, query, request_id=request_id)


@router.post("", status_code=201, responses=problem_responses(403, 409, 413, 503))
async def create_tag(
    body: profile.TagFields, principal: AdminPrincipal, services: Services, request_id: RequestId
) -> profile.Tag:
    """Add a tag (admins only); 409 if the name exists in any case."""
    command = profile.CreateTag(workspace=principal.workspace, tag=body)
    return await services.call(profile.CREATE_TAG, command, request_id=request_id)


@router.patch("/{tag_id}", responses=problem_responses(403, 404, 409, 413, 503))
async def update_tag(
    tag_id: str,
    body: profile.TagEdit,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> profile.Tag:
    """Rename and/or recolour a tag (admins only); an absent field stays, a null one is refused."""
    command = profile.UpdateTag(workspace=principal.workspace, tag_id=parse_id(tag_id, "tag"), edit=body)
    tag = await services.call(profile.UPDATE_TAG, command, request_id=request_id)
    await cache.invalidate(principal.workspace, None, profile.SERVICE)
    return tag


@router.delete("/{tag_id}", status_code=204, responses=problem_responses(403, 404, 503))
async def delete_tag(
    tag_id: str,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Response:
    """Delete a tag (admins only); it comes off every customer that had it."""
    command = profile.DeleteTag(workspace=principal.workspace, tag_id=parse_id(tag_id, "tag"))
    await services.call(profile.DELETE_TAG, command, request_id=request_id)
    await cache.invalidate(principal.workspace, None, profile.SERVICE)
    return Response(status_code=204)
