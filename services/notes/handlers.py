"""NATS side of the notes service: the customer.created consumer and the RPC operations."""

import datetime as dt
import uuid
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from pydantic import ValidationError

from services.notes import repository
from services.notes.service import (
    Rejected,
    decode_cursor,
    encode_cursor,
    group_by_day,
    may_delete,
    note_text,
    time_zone,
)
from shared.consumer import ConsumerSpec, DeadLetterError, Delivery, parse_internal
from shared.db import Connection
from shared.events import utcnow
from shared.messages import profile
from shared.messages.notes import (
    NOTE_ADDED,
    NOTE_DELETED,
    OP_NOTES_ADD,
    OP_NOTES_COUNT,
    OP_NOTES_DELETE,
    OP_NOTES_LIST,
    SERVICE,
    AddNote,
    CountNotes,
    DeleteNote,
    ListNotes,
    Note,
    NoteChanged,
    NotesPage,
)
from shared.outbox import enqueue
from shared.rpc import RpcError, ServiceUnavailable, request
from shared.runtime import RpcRoute
from shared.subjects import event_stream, event_subject, rpc_subject

CUSTOMERS_DURABLE = "notes-customers"


async def record_customer(conn: Connection, delivery: Delivery) -> None:
    """Learn a customer id from the profile service's customer.created event."""
    try:
        created = profile.CustomerCreated.model_validate(delivery.event.data)
        customer_id = uuid.UUID(created.customer_id)
    except (ValidationError, ValueError) as exc:
        # Malformed data never heals by retrying: set it aside for an operator at once.
        raise DeadLetterError(f"invalid customer.created data: {exc}") from None
    await repository.record_customer(conn, delivery.workspace, customer_id, created.created_at)


def customers_consumer() -> ConsumerSpec:
    """The durable consumer of customer.created on the profile service's stream."""
    return ConsumerSpec(
        durable=CUSTOMERS_DURABLE,
        stream=event_stream(profile.SERVICE),
        subjects=[event_subject(profile.SERVICE, "*", profile.CUSTOMER_CREATED)],
        handle=record_customer,
        parse=parse_internal,
    )


def _invalid(exc: Rejected) -> RpcError:
    return RpcError("invalid", exc.message, errors=[{"field": exc.field, "message": exc.message}])


async def _announce(conn: Connection, workspace: str, event_type: str, change: NoteChanged) -> None:
    await enqueue(
        conn, service=SERVICE, workspace=workspace, event_type=event_type, data=change.model_dump(mode="json")
    )


class NoteOperations:
    """The RPC operations, over the service's pool."""

    def __init__(self, pool: asyncpg.Pool, nc: NATS, profile_timeout: float = 2.0) -> None:
        self.pool = pool
        self.nc = nc
        self.profile_timeout = profile_timeout

    async def _customer_known(self, conn: Connection, workspace: str, customer_id: uuid.UUID) -> bool:
        """Whether the customer exists: from the local projection, else from the profile service.

        The projection learns a customer when its customer.created event arrives; staff can open
        a profile the moment it exists, before that. Asking the owner then (and remembering the
        answer) keeps a note on a brand-new customer from being refused.
        """
        if await repository.customer_known(conn, workspace, customer_id):
            return True
        try:
            found = await request(
                self.nc,
                rpc_subject(profile.SERVICE, profile.OP_CUSTOMER_GET),
                {"workspace": workspace, "customer_id": str(customer_id)},
                timeout=self.profile_timeout,
            )
        except RpcError as exc:
            if exc.code == "not_found":
                return False
            raise
        except ServiceUnavailable:
            raise RpcError("unavailable", "the profile service did not answer") from None
        created_at = dt.datetime.fromisoformat(found["header"]["created_at"])
        await repository.record_customer(conn, workspace, customer_id, created_at)
        return True

    async def add_note(self, payload: dict[str, Any], _subject: str) -> Note:
        """Store a note and announce it; not_found for a customer unknown in the workspace."""
        request = AddNote.model_validate(payload)
        try:
            text = note_text(request.text)
        except Rejected as exc:
            raise _invalid(exc) from None
        async with self.pool.acquire() as conn:
            if not await self._customer_known(conn, request.workspace, request.customer_id):
                raise RpcError("not_found", "customer not found")
            async with conn.transaction():
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
                    raise RpcError("not_found", "customer not found")
                await _announce(
                    conn,
                    request.workspace,
                    NOTE_ADDED,
                    NoteChanged(
                        customer_id=str(note.customer_id), note_id=str(note.id), author_id=note.author.id
                    ),
                )
        return note

    async def list_notes(self, payload: dict[str, Any], _subject: str) -> NotesPage:
        """A page of live notes grouped by day in the viewer's zone, with the raw next cursor."""
        request = ListNotes.model_validate(payload)
        try:
            zone = time_zone(request.tz)
            after = decode_cursor(request.cursor) if request.cursor else None
        except Rejected as exc:
            raise _invalid(exc) from None
        async with self.pool.acquire() as conn:
            if not await self._customer_known(conn, request.workspace, request.customer_id):
                raise RpcError("not_found", "customer not found")
            # One extra row tells whether another page follows without a second query.
            notes = await repository.page_of_notes(
                conn, request.workspace, request.customer_id, limit=request.limit + 1, after=after
            )
        page = notes[: request.limit]
        next_cursor = None
        if len(notes) > request.limit:
            next_cursor = encode_cursor(page[-1].created_at, page[-1].id)
        return NotesPage(days=group_by_day(page, zone), next_cursor=next_cursor)

    async def delete_note(self, payload: dict[str, Any], _subject: str) -> dict[str, str]:
        """Soft-delete a note; not_found unless it is the customer's and live, forbidden to non-authors."""
        request = DeleteNote.model_validate(payload)
        async with self.pool.acquire() as conn, conn.transaction():
            stored = await repository.live_note_for_update(
                conn, request.workspace, request.customer_id, request.note_id
            )
            if stored is None:
                raise RpcError("not_found", "note not found")
            if not may_delete(stored.author_id, request.actor_id):
                raise RpcError("forbidden", "only the author of a note may delete it")
            await repository.soft_delete(
                conn, request.workspace, request.note_id, deleted_by=request.actor_id, deleted_at=utcnow()
            )
            await _announce(
                conn,
                request.workspace,
                NOTE_DELETED,
                NoteChanged(
                    customer_id=str(request.customer_id),
                    note_id=str(request.note_id),
                    author_id=stored.author_id,
                ),
            )
        return {}

    async def count_notes(self, payload: dict[str, Any], _subject: str) -> dict[str, int]:
        """The customer's live note count; 0 (not not_found) for a customer without notes."""
        request = CountNotes.model_validate(payload)
        async with self.pool.acquire() as conn:
            return {"count": await repository.count_notes(conn, request.workspace, request.customer_id)}

    def routes(self) -> list[RpcRoute]:
        """Every operation on its subject."""
        return [
            RpcRoute(rpc_subject(SERVICE, OP_NOTES_ADD), self.add_note),
            RpcRoute(rpc_subject(SERVICE, OP_NOTES_LIST), self.list_notes),
            RpcRoute(rpc_subject(SERVICE, OP_NOTES_DELETE), self.delete_note),
            RpcRoute(rpc_subject(SERVICE, OP_NOTES_COUNT), self.count_notes),
        ]
