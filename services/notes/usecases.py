"""Use cases of the notes service over a connection the caller gives (and owns the transaction of)."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence

from services.notes import repository
from services.notes.service import (
    group_by_day,
    may_delete,
    note_position,
    note_text,
    parse_note_cursor,
    time_zone,
)
from shared import identity
from shared.cursors import next_cursor
from shared.db import Connection, transaction
from shared.errors import Forbidden, NotFound
from shared.events import utcnow
from shared.messages.notes import (
    CUSTOMER_ERASED,
    CUSTOMER_MERGED,
    NOTE_ADDED,
    NOTE_DELETED,
    AddNote,
    CountNotes,
    DeleteNote,
    ListNotes,
    Note,
    NoteChanged,
    NoteCount,
    NotesPage,
)
from shared.messages.profile import CustomerMerged, ErasureRequested
from shared.outbox import enqueue
from shared.rpc import Empty

# When the profile service says a customer was created; the NotFound it answers if it has none.
CustomerSource = Callable[[str, uuid.UUID], Awaitable[dt.datetime]]


async def record_customer(
    conn: Connection, workspace: str, customer_id: uuid.UUID, created_at: dt.datetime
) -> None:
    """Learn that a customer exists (from the profile service's customer.created event), unless it
    was merged or erased since."""
    if (await identity.resolve_one(conn, workspace, customer_id)).live_id == customer_id:
        await repository.record_customer(conn, workspace, customer_id, created_at)


async def ensure_customer(
    conn: Connection, workspace: str, customer_id: uuid.UUID, ask_profile: CustomerSource
) -> None:
    """NotFound unless the customer exists: from the local projection, else from the profile service.

    The projection learns a customer when its customer.created event arrives; staff can open a
    profile the moment it exists, before that. Asking the owner then (and remembering the
    answer) keeps a note on a brand-new customer from being refused. A customer merged into
    another is not found, and the answer names the other.
    """
    if await repository.customer_known(conn, workspace, customer_id):
        return
    await _unless_merged(conn, workspace, customer_id)
    created_at = await ask_profile(workspace, customer_id)
    await record_customer(conn, workspace, customer_id, created_at)


async def _unless_merged(conn: Connection, workspace: str, customer_id: uuid.UUID) -> None:
    """NotFound naming the customer this one was merged into, if it was."""
    merged_into = (await identity.resolve_one(conn, workspace, customer_id)).merged_into(customer_id)
    if merged_into is not None:
        raise NotFound("customer merged into another", extra={"merged_into": str(merged_into)})


async def add_note(conn: Connection, request: AddNote, ask_profile: CustomerSource) -> Note:
    """Store a note and announce it; NotFound for a customer unknown in the workspace.

    The customer is checked (perhaps by asking the profile service) before the transaction that
    stores the note and its event opens, so no transaction waits on another service.
    """
    text = note_text(request.note.text)
    await ensure_customer(conn, request.workspace, request.customer_id, ask_profile)
    async with transaction(conn):
        # A merge or an erasure moving this customer's notes waits for this one, or goes first.
        await identity.lock_workspaces(conn, [request.workspace])
        note = await repository.insert_note(
            conn,
            workspace=request.workspace,
            customer_id=request.customer_id,
            note_id=uuid.uuid4(),
            text=text,
            author=request.author,
            created_at=utcnow(),
        )
        if note is None:
            raise NotFound("customer not found")
        change = NoteChanged(
            customer_id=str(note.customer_id), note_id=str(note.id), author_id=note.author.id
        )
        await enqueue(conn, NOTE_ADDED, request.workspace, change)
    return note


async def list_notes(conn: Connection, request: ListNotes, ask_profile: CustomerSource) -> NotesPage:
    """A page of live notes grouped by day in the viewer's zone, with the raw next cursor."""
    zone = time_zone(request.tz)
    after = parse_note_cursor(request.cursor) if request.cursor else None
    await ensure_customer(conn, request.workspace, request.customer_id, ask_profile)
    # One extra row tells whether another page follows without a second query.
    notes = await repository.page_of_notes(
        conn, request.workspace, request.customer_id, limit=request.limit + 1, after=after
    )
    return NotesPage(
        days=group_by_day(notes[: request.limit], zone),
        next_cursor=next_cursor(notes, request.limit, note_position),
    )


async def delete_note(conn: Connection, request: DeleteNote) -> Empty:
    """Soft-delete a note; NotFound unless it is the customer's and live, Forbidden to non-authors."""
    stored = await repository.live_note_for_update(
        conn, request.workspace, request.customer_id, request.note_id
    )
    if stored is None:
        await _unless_merged(conn, request.workspace, request.customer_id)
        raise NotFound("note not found")
    if not may_delete(stored.author_id, request.actor_id):
        raise Forbidden("only the author of a note may delete it")
    await repository.soft_delete(
        conn, request.workspace, request.note_id, deleted_by=request.actor_id, deleted_at=utcnow()
    )
    change = NoteChanged(
        customer_id=str(request.customer_id), note_id=str(request.note_id), author_id=stored.author_id
    )
    await enqueue(conn, NOTE_DELETED, request.workspace, change)
    return Empty()


async def count_notes(conn: Connection, request: CountNotes) -> NoteCount:
    """The customer's live note count; 0 (not NotFound) for a customer without notes."""
    return NoteCount(count=await repository.count_notes(conn, request.workspace, request.customer_id))


async def _move_notes(conn: Connection, workspace: str, merged: CustomerMerged, target: uuid.UUID) -> None:
    await repository.move_notes(conn, workspace, uuid.UUID(merged.source_id), target, merged.created_at)


async def _delete_notes(
    conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID], _erasure: ErasureRequested | None
) -> None:
    await repository.delete_customers(conn, workspace, customer_ids)


# Merges move a customer's notes, deleted ones too, to the target; erasures delete them all.
CUSTOMER_DATA = identity.CustomerData(CUSTOMER_MERGED, CUSTOMER_ERASED, _move_notes, _delete_notes)
