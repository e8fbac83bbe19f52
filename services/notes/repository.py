"""SQL of the notes service; every query is scoped by workspace."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from shared.cursors import END_OF_TIME
from shared.db import Connection
from shared.identity import delete_rows, move_rows
from shared.messages.notes import Author, Note

_COLUMNS = "id, customer_id, text, author_id, author_name, created_at"


@dataclass(frozen=True)
class StoredNote:
    """What deleting a note needs to know about it."""

    author_id: str


def _note(row: asyncpg.Record) -> Note:
    return Note(
        id=row["id"],
        customer_id=row["customer_id"],
        text=row["text"],
        author=Author(id=row["author_id"], name=row["author_name"]),
        created_at=row["created_at"],
    )


async def record_customer(
    conn: Connection, workspace: str, customer_id: uuid.UUID, created_at: dt.datetime
) -> None:
    """Remember that a customer exists (idempotent)."""
    await conn.execute(
        "INSERT INTO customers (workspace, customer_id, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        workspace,
        customer_id,
        created_at,
    )


async def insert_note(
    conn: Connection,
    *,
    workspace: str,
    customer_id: uuid.UUID,
    note_id: uuid.UUID,
    text: str,
    author: Author,
    created_at: dt.datetime,
) -> Note | None:
    """Store a note; None if the customer is not known in the workspace."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO notes (id, workspace, customer_id, text, author_id, author_name, created_at)
        SELECT $1, $2, $3, $4, $5, $6, $7
        WHERE EXISTS (SELECT 1 FROM customers WHERE workspace = $2 AND customer_id = $3)
        RETURNING {_COLUMNS}
        """,
        note_id,
        workspace,
        customer_id,
        text,
        author.id,
        author.name,
        created_at,
    )
    return _note(row) if row is not None else None


async def customer_known(conn: Connection, workspace: str, customer_id: uuid.UUID) -> bool:
    """Whether the customer exists in the workspace."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM customers WHERE workspace = $1 AND customer_id = $2",
            workspace,
            customer_id,
        )
    )


async def page_of_notes(
    conn: Connection,
    workspace: str,
    customer_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> list[Note]:
    """Up to `limit` live notes, newest first (created_at desc, id desc), after `after` (None: all)."""
    after = after or (END_OF_TIME, uuid.UUID(int=0))
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM notes "
        "WHERE workspace = $1 AND customer_id = $2 AND deleted_at IS NULL "
        "AND (created_at, id) < ($3, $4) "
        "ORDER BY created_at DESC, id DESC LIMIT $5",
        workspace,
        customer_id,
        after[0],
        after[1],
        limit,
    )
    return [_note(row) for row in rows]


async def live_note_for_update(
    conn: Connection, workspace: str, customer_id: uuid.UUID, note_id: uuid.UUID
) -> StoredNote | None:
    """A live note of the customer, locked until the transaction ends; None if there is none."""
    row = await conn.fetchrow(
        "SELECT author_id FROM notes "
        "WHERE id = $1 AND workspace = $2 AND customer_id = $3 AND deleted_at IS NULL FOR UPDATE",
        note_id,
        workspace,
        customer_id,
    )
    return StoredNote(author_id=row["author_id"]) if row is not None else None


async def soft_delete(
    conn: Connection, workspace: str, note_id: uuid.UUID, *, deleted_by: str, deleted_at: dt.datetime
) -> None:
    """Hide a note from every read, keeping it for audit."""
    await conn.execute(
        "UPDATE notes SET deleted_at = $3, deleted_by = $4 WHERE id = $1 AND workspace = $2",
        note_id,
        workspace,
        deleted_at,
        deleted_by,
    )


async def count_notes(conn: Connection, workspace: str, customer_id: uuid.UUID) -> int:
    """How many live notes the customer has."""
    count = await conn.fetchval(
        "SELECT count(*) FROM notes WHERE workspace = $1 AND customer_id = $2 AND deleted_at IS NULL",
        workspace,
        customer_id,
    )
    return int(count)


async def move_notes(
    conn: Connection, workspace: str, source: uuid.UUID, target: uuid.UUID, target_created_at: dt.datetime
) -> None:
    """Give the source customer's notes, deleted ones too, to the target, and forget the source."""
    await record_customer(conn, workspace, target, target_created_at)
    await move_rows(conn, workspace, ("notes",), source, target)
    await delete_customers(conn, workspace, [source])


async def delete_customers(conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID]) -> None:
    """Delete these customers and every note of theirs, deleted ones too."""
    await delete_rows(conn, workspace, ("notes", "customers"), customer_ids)
