"""The workspace's tag catalog: everyone reads it, admins manage it."""

import uuid

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from gateway.auth import AdminPrincipal, CurrentPrincipal
from gateway.deps import Cache, RequestId, Services
from gateway.errors import Problem
from gateway.routes.problems import problem_responses
from shared.messages.profile import (
    OP_TAGS_CREATE,
    OP_TAGS_DELETE,
    OP_TAGS_LIST,
    OP_TAGS_UPDATE,
    SERVICE,
    CreateTag,
    Tag,
    TagRef,
    UpdateTag,
    WorkspaceRef,
)
from shared.validation import Text

router = APIRouter(prefix="/v1/tags", tags=["tags"])


class NewTag(BaseModel):
    """Body of POST /v1/tags: a name (1–50 characters, unique in any case) and a #RRGGBB colour."""

    model_config = ConfigDict(extra="forbid")

    name: Text
    color: Text


class TagEdit(BaseModel):
    """Body of PATCH /v1/tags/{id}: a new name and/or colour."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    color: Text | None = None


class TagList(BaseModel):
    """The tag catalog, by name."""

    items: list[Tag]


def parse_tag_id(value: str) -> uuid.UUID:
    """The tag id; 404 for anything that cannot be one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Problem(404, "tag not found") from None


@router.get("", responses=problem_responses(503))
async def list_tags(principal: CurrentPrincipal, services: Services, request_id: RequestId) -> TagList:
    """Every tag of the workspace."""
    query = WorkspaceRef(workspace=principal.workspace)
    return TagList.model_validate(await services.call(SERVICE, OP_TAGS_LIST, query, request_id=request_id))


@router.post("", status_code=201, responses=problem_responses(403, 409, 413, 503))
async def create_tag(
    body: NewTag, principal: AdminPrincipal, services: Services, request_id: RequestId
) -> Tag:
    """Add a tag (admins only); 409 if the name exists in any case."""
    command = CreateTag(workspace=principal.workspace, name=body.name, color=body.color)
    return Tag.model_validate(await services.call(SERVICE, OP_TAGS_CREATE, command, request_id=request_id))


@router.patch("/{tag_id}", responses=problem_responses(403, 404, 409, 413, 503))
async def update_tag(
    tag_id: str,
    body: TagEdit,
    principal: AdminPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Tag:
    """Rename and/or recolour a tag (admins only)."""
    command = UpdateTag.model_validate(
        {
            "workspace": principal.workspace,
            "tag_id": parse_tag_id(tag_id),
            **body.model_dump(include=body.model_fields_set),
        }
    )
    # Only the fields the caller sent: an absent one stays, a null one is refused.
    payload = command.model_dump(mode="json", exclude_unset=True)
    tag = Tag.model_validate(await services.call(SERVICE, OP_TAGS_UPDATE, payload, request_id=request_id))
    await cache.invalidate(principal.workspace, None, "profile")
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
    command = TagRef(workspace=principal.workspace, tag_id=parse_tag_id(tag_id))
    await services.call(SERVICE, OP_TAGS_DELETE, command, request_id=request_id)
    await cache.invalidate(principal.workspace, None, "profile")
    return Response(status_code=204)
