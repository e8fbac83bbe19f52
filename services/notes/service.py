"""The notes domain: text rules, time zones, day grouping, cursors, who may delete."""

import datetime as dt
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.messages.notes import Note, NoteDay

MAX_TEXT_CHARS = 2000
_MAX_ZONE_NAME = 64


class Rejected(Exception):
    """Input the domain refuses, naming the field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def note_text(raw: str) -> str:
    """The text to store: trimmed, 1 to 2,000 characters (code points, not bytes)."""
    text = raw.strip()
    if not text:
        raise Rejected("text", "must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise Rejected("text", f"must be at most {MAX_TEXT_CHARS} characters")
    return text


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; Rejected for anything that is not one."""
    if len(name) > _MAX_ZONE_NAME:
        raise Rejected("tz", "not a known IANA time zone")
    try:
        return ZoneInfo(name)
    # ZoneInfo refuses paths with ValueError and unreadable entries with OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Rejected("tz", "not a known IANA time zone") from None


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


def encode_cursor(created_at: dt.datetime, note_id: uuid.UUID) -> str:
    """The position just after a note in (created_at desc, id desc) order."""
    return f"{created_at.isoformat()}|{note_id}"


def decode_cursor(raw: str) -> tuple[dt.datetime, uuid.UUID]:
    """The position a cursor names; Rejected if it is not one `encode_cursor` made."""
    stamp, _, note_id = raw.partition("|")
    try:
        created_at = dt.datetime.fromisoformat(stamp)
        position = uuid.UUID(note_id)
    except ValueError:
        raise Rejected("cursor", "malformed") from None
    if created_at.tzinfo is None:
        raise Rejected("cursor", "malformed")
    return created_at, position


def may_delete(author_id: str, actor_id: str) -> bool:
    """Only a note's author may delete it; being an admin changes nothing."""
    return author_id == actor_id
