"""The one keyset cursor codec: what it writes reads back; nothing else does."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.cursors import decode_cursor, encode_cursor
from shared.errors import Rejected


@given(
    position=st.datetimes(
        timezones=st.just(UTC), min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)
    ),
    key=st.text(max_size=300),
)
def test_a_cursor_reads_back_as_written(position: datetime, key: str) -> None:
    assert decode_cursor(encode_cursor(position, key)) == (position, key)


@given(raw=st.text(max_size=100))
def test_any_other_text_is_an_invalid_cursor_or_a_valid_position(raw: str) -> None:
    try:
        position, key = decode_cursor(raw)
    except Rejected:
        return
    assert position.tzinfo is not None and isinstance(key, str)


@pytest.mark.parametrize(
    "raw", ["", "[]", '["2025-01-01T00:00:00", "k"]', '["2025-01-01T00:00:00Z", 1]', "null"]
)
def test_malformed_cursors_are_refused(raw: str) -> None:
    with pytest.raises(Rejected):
        decode_cursor(raw)
