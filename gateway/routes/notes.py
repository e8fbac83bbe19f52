"""The notes tab: /v1/customers/{id}/notes (CONTRACT.md §4)."""

import uuid
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, RequestId, Services
from gateway.errors import Problem
from gateway.pagination import DEFAULT_LIMIT, Limit, PageCursors
from gateway.routes.problems import problem_responses
from gateway.view import parse_customer_id
from shared.messages.notes import (
    OP_NOTES_ADD,
    OP_NOTES_DELETE,
    OP_NOTES_LIST,
    SERVICE,
    AddNote,
    Author,
    DeleteNote,
    ListNotes,
    Note,
    NotesPage,
)
from shared.validation import Text

router = APIRouter(prefix="/v1/customers", tags=["notes"])


class NewNote(BaseModel):
    """Body of POST /v1/customers/{id}/notes."""

    model_config = ConfigDict(extra="forbid")

    text: Text


def _time_zone(name: str) -> str:
    """`name` if it is an IANA zone; 422 naming `tz` otherwise."""
    try:
        if len(name) > 64:
            raise ValueError(name)
        ZoneInfo(name)
    # ZoneInfo refuses paths with ValueError and unreadable entries with OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Problem(
            422, "unknown time zone", errors=[{"field": "tz", "message": "not a known IANA time zone"}]
        ) from None
    return name


def _note_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Problem(404, "note not found") from None


@router.get("/{customer_id}/notes", responses=problem_responses(404, 503))
async def list_notes(
    customer_id: str,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    tz: Annotated[Text, Query()] = "UTC",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[Text | None, Query()] = None,
) -> NotesPage:
    """The customer's notes, newest first, grouped by day in `tz`."""
    request = ListNotes(
        workspace=principal.workspace,
        customer_id=uuid.UUID(parse_customer_id(customer_id)),
        tz=_time_zone(tz),
        limit=limit,
        cursor=cursors.open(cursor),
    )
    page = NotesPage.model_validate(
        await services.call(SERVICE, OP_NOTES_LIST, request, request_id=request_id)
    )
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.post("/{customer_id}/notes", status_code=201, responses=problem_responses(404, 413, 503))
async def add_note(
    customer_id: str,
    body: NewNote,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Note:
    """Add a note written by the caller; 404 if the customer is not in the workspace."""
    request = AddNote(
        workspace=principal.workspace,
        customer_id=uuid.UUID(parse_customer_id(customer_id)),
        text=body.text,
        author=Author(id=principal.user_id, name=principal.name),
    )
    note = Note.model_validate(await services.call(SERVICE, OP_NOTES_ADD, request, request_id=request_id))
    # Read-your-writes: the note count the author sees next must include this note.
    await cache.invalidate(principal.workspace, str(request.customer_id), "notes")
    return note


@router.delete("/{customer_id}/notes/{note_id}", status_code=204, responses=problem_responses(403, 404, 503))
async def delete_note(
    customer_id: str,
    note_id: str,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Response:
    """Delete a note: only its author may (403 for anyone else, admins included)."""
    request = DeleteNote(
        workspace=principal.workspace,
        customer_id=uuid.UUID(parse_customer_id(customer_id)),
        note_id=_note_id(note_id),
        actor_id=principal.user_id,
    )
    await services.call(SERVICE, OP_NOTES_DELETE, request, request_id=request_id)
    await cache.invalidate(principal.workspace, str(request.customer_id), "notes")
    return Response(status_code=204)
