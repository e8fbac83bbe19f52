"""The notes service's events and operations."""

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.validation import Text

SERVICE = "notes"

NOTE_ADDED = "note.added"
NOTE_DELETED = "note.deleted"

# Operations on rpc.notes.<op>; every request carries "workspace".
OP_NOTES_LIST = "notes.list"  # ListNotes → NotesPage
OP_NOTES_ADD = "notes.add"  # AddNote → Note
OP_NOTES_DELETE = "notes.delete"  # DeleteNote → {}
OP_NOTES_COUNT = "notes.count"  # {customer_id} → {"count": int}

MAX_PAGE = 100


class NoteChanged(BaseModel):
    """A note was added or deleted."""

    customer_id: str
    note_id: str
    author_id: str


class Author(BaseModel):
    """The staff member who wrote a note (from their token)."""

    id: Text
    name: Text


class Note(BaseModel):
    """A note as the API shows it (CONTRACT.md §4)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    text: str
    author: Author
    created_at: dt.datetime


class NoteDay(BaseModel):
    """The notes of one day in the viewer's time zone, newest first."""

    date: dt.date
    notes: list[Note]


class NotesPage(BaseModel):
    """One page of a customer's notes; `next_cursor` is raw (the gateway seals it)."""

    days: list[NoteDay]
    next_cursor: str | None


class _Request(BaseModel):
    # Tolerant of fields a newer caller adds; the ones it names are checked strictly.
    model_config = ConfigDict(extra="ignore")

    workspace: Annotated[Text, Field(min_length=1, max_length=64)]
    customer_id: uuid.UUID


class AddNote(_Request):
    """Add a note; `text` is trimmed and checked by the service."""

    text: Text
    author: Author


class ListNotes(_Request):
    """A page of notes, grouped by day in IANA zone `tz`."""

    tz: Annotated[Text, Field(max_length=64)] = "UTC"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 25
    cursor: Text | None = None


class DeleteNote(_Request):
    """Delete a note; only its author may."""

    note_id: uuid.UUID
    actor_id: Text


class CountNotes(_Request):
    """How many notes a customer has (0 for one the service has never seen)."""
