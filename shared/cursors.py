"""The one keyset cursor of every newest-first list: the position after a page's last row.

A position is the row's sort time and a key that breaks ties. Services hand it out raw; the
gateway seals it (gateway/pagination.py), so only cursors the server issued come back. A list that
can be ordered several ways (the customer grid) names its order in the cursor too, with the value
the order sorts by (a time or a text) in place of the time.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import orjson

from shared.errors import Rejected


def encode_cursor(at: datetime, key: str) -> str:
    """The cursor after the row at (at, key)."""
    return orjson.dumps([at.isoformat(), key]).decode()


def _strings(raw: str, count: int) -> list[str]:
    """The `count` strings a cursor's JSON list holds; Rejected naming `cursor` if it holds others."""
    try:
        value = orjson.loads(raw)
        if not (isinstance(value, list) and len(value) == count and all(isinstance(v, str) for v in value)):
            raise ValueError(raw)
    except ValueError:
        raise Rejected.field("cursor", "malformed") from None
    return value


def decode_cursor(raw: str) -> tuple[datetime, str]:
    """(at, key) of a cursor; Rejected naming `cursor` if `encode_cursor` did not make it."""
    at, key = _strings(raw, 2)
    return parse_time(at), key


R = TypeVar("R")
I = TypeVar("I")  # noqa: E741

# Later than every row's time: a newest-first list's first page starts below it.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
# Earlier than every row's time: an oldest-first list's first page starts above it.
BEGINNING_OF_TIME = datetime.min.replace(tzinfo=UTC)


def next_cursor(rows: Sequence[R], limit: int, position: Callable[[R], tuple[datetime, str]]) -> str | None:
    """The cursor after a page, given up to limit + 1 rows (the extra one says there is more)."""
    return encode_cursor(*position(rows[limit - 1])) if len(rows) > limit else None


def page_of(
    rows: Sequence[R], limit: int, item: Callable[[R], I], position: Callable[[R], tuple[datetime, str]]
) -> tuple[list[I], str | None]:
    """The items of a page and the cursor after it, given up to limit + 1 rows."""
    return [item(row) for row in rows[:limit]], next_cursor(rows, limit, position)


def encode_ordered_cursor(order: str, value: datetime | str, key: str) -> str:
    """The cursor after the row at (value, key) of a list in `order`."""
    text = value.isoformat() if isinstance(value, datetime) else value
    return orjson.dumps([order, text, key]).decode()


def decode_ordered_cursor(raw: str, order: str) -> tuple[str, str]:
    """(value as text, key) of a cursor of `order`; Rejected naming `cursor` if `encode_ordered_cursor`
    did not make it, or made it for another order (its position means nothing in this one)."""
    made_for, value, key = _strings(raw, 3)
    if made_for != order:
        raise Rejected.field("cursor", f"continues sort={made_for}, not sort={order}: start again")
    return value, key


def parse_time(text: str) -> datetime:
    """An instant of a cursor; Rejected naming `cursor` unless it is RFC 3339 with an offset."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected.field("cursor", "malformed") from None
    if at.tzinfo is None:
        raise Rejected.field("cursor", "malformed")
    return at
