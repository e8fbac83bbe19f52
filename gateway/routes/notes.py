"""The notes tab: /v1/customers/{id}/notes (CONTRACT.md §4)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway.auth import CurrentPrincipal
from gateway.deps import Cache, CustomerId, NoteId, RequestId, Services
from gateway.pagination import DEFAULT_LIMIT, Cursor, Limit, PageCursors
from gateway.routes.problems import problem_responses
from shared.messages import notes

router = APIRouter(prefix="/v1/customers", tags=["notes"])


@router.get("/{customer_id:uuid}/notes")
async def list_notes(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    request_id: RequestId,
    cursors: PageCursors,
    tz: Annotated[notes.TimeZoneName, Query(description="The IANA time zone the days are in")] = "UTC",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> notes.NotesPage:
    """The customer's notes, newest first, grouped by day in `tz` (an IANA time zone)."""
    request = notes.ListNotes(
        workspace=principal.workspace,
        customer_id=customer_id,
        tz=tz,
        limit=limit,
        cursor=cursors.open(cursor),
    )
    page = await services.call(notes.LIST_NOTES, request, request_id=request_id)
    return page.model_copy(update={"next_cursor": cursors.seal(page.next_cursor)})


@router.post("/{customer_id:uuid}/notes", status_code=201)
async def add_note(
    customer_id: CustomerId,
    body: notes.NewNote,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> notes.Note:
    """Add a note written by the caller; 404 if the customer is not in the workspace."""
    request = notes.AddNote(
        workspace=principal.workspace,
        customer_id=customer_id,
        note=body,
        author=notes.Author(id=principal.user_id, name=principal.name),
    )
    note = await services.call(notes.ADD_NOTE, request, request_id=request_id)
    # Read-your-writes: the note count the author sees next must include this note.
    await cache.invalidate(principal.workspace, str(request.customer_id), notes.SERVICE)
    return note


@router.delete("/{customer_id:uuid}/notes/{note_id:uuid}", status_code=204, responses=problem_responses(403))
async def delete_note(
    customer_id: CustomerId,
    note_id: NoteId,
    principal: CurrentPrincipal,
    services: Services,
    cache: Cache,
    request_id: RequestId,
) -> Response:
    """Delete a note: only its author may (403 for anyone else, admins included)."""
    request = notes.DeleteNote(
        workspace=principal.workspace,
        customer_id=customer_id,
        note_id=note_id,
        actor_id=principal.user_id,
    )
    await services.call(notes.DELETE_NOTE, request, request_id=request_id)
    await cache.invalidate(principal.workspace, str(request.customer_id), notes.SERVICE)
    return Response(status_code=204)
