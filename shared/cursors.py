"""The one keyset cursor of every newest-first list: the position after a page's last row.

A position is the row's sort time and a key that breaks ties. Services hand it out raw; the
gateway seals it (gateway/pagination.py), so only cursors the server issued come back.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import orjson

from shared.errors import Rejected


def encode_cursor(at: datetime, key: str) -> str:
    """The cursor after the row at (at, key)."""
    return orjson.dumps([at.isoformat(), key]).decode()


def decode_cursor(raw: str) -> tuple[datetime, str]:
    """(at, key) of a cursor; Rejected naming `cursor` if `encode_cursor` did not make it."""
    try:
        value = orjson.loads(raw)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            raise ValueError(raw)
        at = datetime.fromisoformat(value[0])
    except ValueError:
        raise Rejected.field("cursor", "malformed") from None
    if at.tzinfo is None:
        raise Rejected.field("cursor", "malformed")
    return at, value[1]


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
