"""The notes domain: text rules, time zones, day grouping, cursors, who may delete."""

import datetime as dt
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from shared.cursors import decode_cursor
from shared.errors import Rejected, rejecting
from shared.fields import NOTE_TEXT_MAX
from shared.messages.notes import Note, NoteDay, time_zone_name
from shared.validation import trimmed


def note_text(raw: str) -> str:
    """The text to store: trimmed, 1 to 2,000 characters (code points, not bytes)."""
    with rejecting("text"):
        return trimmed(raw, NOTE_TEXT_MAX)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; Rejected for anything that is not one."""
    with rejecting("tz"):
        return ZoneInfo(time_zone_name(name))


def group_by_day(notes: Sequence[Note], zone: ZoneInfo) -> list[NoteDay]:
    """Notes (newest first) grouped by their local date in `zone`, keeping their order."""
    days: list[NoteDay] = []
    for note in notes:
        day = note.created_at.astimezone(zone).date()
        if days and days[-1].date == day:
            days[-1].notes.append(note)
        else:
            days.append(NoteDay(date=day, notes=[note]))
    return days


def note_position(note: Note) -> tuple[dt.datetime, str]:
    """The position just after a note in (created_at desc, id desc) order."""
    return note.created_at, str(note.id)


def parse_note_cursor(raw: str) -> tuple[dt.datetime, uuid.UUID]:
    """The position a cursor names; Rejected if `note_cursor` did not make it."""
    created_at, key = decode_cursor(raw)
    try:
        return created_at, uuid.UUID(key)
    except ValueError:
        raise Rejected.field("cursor", "malformed") from None


def may_delete(author_id: str, actor_id: str) -> bool:
    """Only a note's author may delete it; being an admin changes nothing."""
    return author_id == actor_id
