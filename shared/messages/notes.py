"""The notes service's events and operations."""

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EventType, ServiceInterface
from shared.fields import NOTE_TEXT_MAX
from shared.messages import WorkspaceRequest, identity_events
from shared.reference import time_zones
from shared.rpc import Empty, Operation
from shared.validation import Checked, Text, adding, trimmed_text

SERVICE = "notes"

MAX_PAGE = 100


def time_zone_name(name: str) -> str:
    """An IANA time zone name."""
    if name not in time_zones():
        raise ValueError("not a known IANA time zone")
    return name


NoteText = Annotated[Text, trimmed_text(NOTE_TEXT_MAX)]


def _time_zone_pattern() -> str:
    # A pattern rather than an enum: some names differ only in punctuation (GMT+0, GMT-0, GMT0), which
    # client generators cannot tell apart as enum members. `+` is the only special character in them.
    return "^(?:" + "|".join(name.replace("+", "\\+") for name in time_zones()) + ")$"


TimeZoneName = Annotated[
    str,
    Checked(
        time_zone_name,
        adding(
            lambda: {
                "pattern": _time_zone_pattern(),
                "description": "An IANA time zone name, e.g. Asia/Dubai",
            }
        ),
    ),
]


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


class NoteCount(BaseModel):
    """How many live notes a customer has."""

    count: int


class NewNote(BaseModel):
    """Body of POST /v1/customers/{id}/notes: the text, 1 to 2,000 characters after trimming."""

    model_config = ConfigDict(extra="forbid")

    text: NoteText


class _CustomerRequest(WorkspaceRequest):
    customer_id: uuid.UUID


class AddNote(_CustomerRequest):
    """Add a note written by `author`."""

    note: NewNote
    author: Author


class ListNotes(_CustomerRequest):
    """A page of notes, grouped by day in IANA zone `tz`."""

    tz: TimeZoneName = "UTC"
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 25
    cursor: Text | None = None


class DeleteNote(_CustomerRequest):
    """Delete a note; only its author may."""

    note_id: uuid.UUID
    actor_id: Text


class CountNotes(_CustomerRequest):
    """How many notes a customer has (0 for one the service has never seen)."""


ADD_NOTE = Operation(SERVICE, "notes.add", AddNote, Note, "add a note")
LIST_NOTES = Operation(SERVICE, "notes.list", ListNotes, NotesPage, "notes grouped by day")
DELETE_NOTE = Operation(SERVICE, "notes.delete", DeleteNote, Empty, "author-only soft delete")
COUNT_NOTES = Operation(SERVICE, "notes.count", CountNotes, NoteCount, "note count for the view")


class NoteChanged(BaseModel):
    """A note was added or deleted."""

    customer_id: str
    note_id: str
    author_id: str


NOTE_ADDED = EventType(SERVICE, "note.added", NoteChanged, "a note was added")
NOTE_DELETED = EventType(SERVICE, "note.deleted", NoteChanged, "a note was deleted")

CUSTOMER_MERGED, CUSTOMER_ERASED = identity_events(SERVICE)

INTERFACE = ServiceInterface(
    SERVICE,
    "Internal notes of the team on a customer.",
    emits=(NOTE_ADDED, NOTE_DELETED, CUSTOMER_MERGED, CUSTOMER_ERASED),
)
