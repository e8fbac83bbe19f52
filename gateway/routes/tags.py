"""The workspace's tag catalog: everyone reads it, admins manage it."""

from fastapi import APIRouter, Response

from gateway.auth import AdminPrincipal, CurrentPrincipal
from gateway.deps import Cache, RequestId, Services, TagId
from gateway.routes.problems import problem_responses
from shared.messages import profile

router = APIRouter(prefix="/v1/tags", tags=["tags"])


@router.get("")
async def list_tags(
    principal: CurrentPrincipal, services: Services, request_id: RequestId
) -> profile.TagList:
    """Every tag of the workspace."""
    query = profile.ListTags(workspace=principal.workspace)
    return await services.call(profile.LIST_TAGS, query, request_id=request_id)


@router.post("", status_code=201, responses=problem_responses(409))
async def create_tag(
    body: profile.TagFields, principal: AdminPrincipal, services: Services, request_id: RequestId
) -> profile.Tag:
    """Add a tag (admins only); 409 if the name exists in any case."""
    command = profile.CreateTag(workspace=principal.workspace, tag=body)
    return await services.call(profile.CREATE_TAG, command, request_id=request_id)


@router.patch("/{tag_id:uuid}", responses=problem_responses(409))
async def update_tag(
    tag_id: TagId,
    body: profile.TagEdit,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> profile.Tag:
    """Rename and/or recolour a tag (admins only); an absent field stays, a null one is refused."""
    command = profile.UpdateTag(workspace=principal.workspace, tag_id=tag_id, edit=body)
    tag = await services.call(profile.UPDATE_TAG, command, request_id=request_id)
    await cache.invalidate(principal.workspace, None, profile.SERVICE)
    return tag


@router.delete("/{tag_id:uuid}", status_code=204)
async def delete_tag(
    tag_id: TagId,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Response:
    """Delete a tag (admins only); it comes off every customer that had it."""
    command = profile.DeleteTag(workspace=principal.workspace, tag_id=tag_id)
    await services.call(profile.DELETE_TAG, command, request_id=request_id)
    await cache.invalidate(principal.workspace, None, profile.SERVICE)
    return Response(status_code=204)
