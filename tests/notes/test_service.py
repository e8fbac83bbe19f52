"""The notes domain as plain functions: text rules, zones, day grouping, cursors."""

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.notes import service
from shared.cursors import encode_cursor
from shared.errors import Rejected
from shared.messages.notes import Author, Note

ARABIC = "ملاحظة"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a", "a"),
        ("  padded\n\t", "padded"),
        ("a" * 2000, "a" * 2000),
        (" " * 50 + "a" * 2000 + "\n" * 50, "a" * 2000),
        ("😀" * 2000, "😀" * 2000),
        ((ARABIC * 400)[:2000], (ARABIC * 400)[:2000]),
    ],
    ids=["one", "trimmed", "2000", "2000-after-trim", "2000-emoji", "2000-arabic"],
)
def test_note_text_accepts_one_to_2000_characters_after_trimming(raw: str, stored: str) -> None:
    assert service.note_text(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "\n\t \u00a0\u2003", "a" * 2001, "😀" * 2001, (ARABIC * 400)[:2001]],
    ids=["empty", "spaces", "unicode-whitespace", "2001", "2001-emoji", "2001-arabic"],
)
def test_note_text_refuses_empty_and_too_long(raw: str) -> None:
    with pytest.raises(Rejected) as caught:
        service.note_text(raw)
    assert caught.value.errors[0].field == "text"


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "utc", "America", "/etc/passwd", "../../etc/passwd", "zone.tab", "a" * 65]
)
def test_time_zone_refuses_what_is_not_an_iana_zone(name: str) -> None:
    with pytest.raises(Rejected) as caught:
        service.time_zone(name)
    assert caught.value.errors[0].field == "tz"


def _note(created_at: datetime) -> Note:
    return Note(
        id=uuid.uuid4(),
        customer_id=uuid.UUID(int=1),
        text=created_at.isoformat(),
        author=Author(id="u", name="U"),
        created_at=created_at,
    )


def test_grouping_follows_midnight_of_the_viewers_zone() -> None:
    # Newest first: 04:30Z is still the 9th in New York (EST; DST begins at 07:00Z that day),
    # 23:30Z on the 9th is already the 10th in Dubai, 21:00Z on the 10th the 11th.
    notes = [
        _note(datetime(2024, 3, 10, 21, 0, tzinfo=UTC)),
        _note(datetime(2024, 3, 10, 4, 30, tzinfo=UTC)),
        _note(datetime(2024, 3, 10, 0, 30, tzinfo=UTC)),
        _note(datetime(2024, 3, 9, 23, 30, tzinfo=UTC)),
        _note(datetime(2024, 3, 9, 12, 0, tzinfo=UTC)),
    ]

    def shape(zone: str) -> list[tuple[date, list[Note]]]:
        return [(day.date, day.notes) for day in service.group_by_day(notes, ZoneInfo(zone))]

    assert shape("UTC") == [(date(2024, 3, 10), notes[:3]), (date(2024, 3, 9), notes[3:])]
    assert shape("Asia/Dubai") == [
        (date(2024, 3, 11), notes[:1]),
        (date(2024, 3, 10), notes[1:4]),
        (date(2024, 3, 9), notes[4:]),
    ]
    assert shape("America/New_York") == [(date(2024, 3, 10), notes[:1]), (date(2024, 3, 9), notes[1:])]
    assert service.group_by_day([], ZoneInfo("UTC")) == []


def test_cursor_round_trips() -> None:
    created_at, note_id = datetime(2024, 3, 10, 5, 30, 0, 123456, tzinfo=UTC), uuid.uuid4()
    note = Note(
        id=note_id, customer_id=uuid.uuid4(), text="t", author=Author(id="a", name="A"), created_at=created_at
    )
    assert service.parse_note_cursor(encode_cursor(*service.note_position(note))) == (created_at, note_id)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "garbage",
        '["2024-03-10T05:30:00+00:00", "not-a-uuid"]',
        f'["2024-03-10T05:30:00", "{uuid.UUID(int=1)}"]',
        "|",
    ],
)
def test_a_cursor_that_was_not_issued_is_refused(raw: str) -> None:
    with pytest.raises(Rejected) as caught:
        service.parse_note_cursor(raw)
    assert caught.value.errors[0].field == "cursor"


def test_only_the_author_may_delete() -> None:
    assert service.may_delete("user-1", "user-1")
    assert not service.may_delete("user-1", "admin-1")
