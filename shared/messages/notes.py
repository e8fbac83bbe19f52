"""The notes service's events and operations."""

from pydantic import BaseModel

SERVICE = "notes"

NOTE_ADDED = "note.added"
NOTE_DELETED = "note.deleted"

OP_NOTES_LIST = "notes.list"
OP_NOTES_ADD = "notes.add"
OP_NOTES_DELETE = "notes.delete"
OP_NOTES_COUNT = "notes.count"  # {customer_id} → {"count": int}


class NoteChanged(BaseModel):
    """A note was added or deleted."""

    customer_id: str
    note_id: str
    author_id: str
