"""Each checked field type's JSON Schema admits exactly what its rule accepts.

The schema is the one the OpenAPI and AsyncAPI documents publish (pydantic's), read by a JSON Schema
validator; the rule is the type's validation. Strings are drawn where the rules turn: white space of
every kind at both ends, U+0000, astral characters, and lengths around each limit. (An email address
is a format no pattern says: the schemathesis run holds it to the document.)
"""

from functools import cache
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gateway.pagination import Cursor, seal_cursor
from shared.fields import AGENT_INSTRUCTIONS_MAX, LOCATION_MAX, NAME_MAX, NOTE_TEXT_MAX, TAG_NAME_MAX
from shared.messages.notes import NoteText, TimeZoneName
from shared.messages.profile import (
    AgentInstructions,
    Country,
    Language,
    Location,
    Name,
    Phone,
    TagColor,
    TagIds,
    TagName,
)
from shared.validation import Text

SPACES = [chr(c) for c in range(0x10000) if chr(c).isspace()]
# Not white space, though some regex dialects' \s would say so.
LOOKALIKES = ["\u180e", "\u200b", "\ufeff", "\u2060"]
LETTERS = ["a", "Z", "é", "ש", "😀", "#", "0", "9", "f", "F", "g", "-", "_", ".", "/", "\x00"]


def padded_text(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`core` with white space (or look-alikes) on either side."""
    edge = st.text(st.sampled_from(SPACES + LOOKALIKES), max_size=3)
    return st.builds(lambda a, b, c: a + b + c, edge, core, edge)


def around(limit: int) -> st.SearchStrategy[str]:
    """Text of about `limit` characters: exactly at it, just over, or short."""
    sizes = st.sampled_from([0, 1, 2, limit - 1, limit, limit + 1])
    return sizes.flatmap(lambda n: st.text(st.sampled_from(LETTERS + SPACES[:3]), min_size=n, max_size=n))


@cache
def checkers(field_type: Any) -> tuple[TypeAdapter[Any], jsonschema.Draft202012Validator]:
    """The type's validation and a validator of its published schema."""
    adapter: TypeAdapter[Any] = TypeAdapter(field_type)
    schema = adapter.json_schema()
    return adapter, jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def agrees(field_type: Any, value: Any) -> None:
    """The rule accepts `value` exactly when the published schema admits it."""
    adapter, validator = checkers(field_type)
    try:
        adapter.validate_python(value)
        accepted = True
    except ValidationError:
        accepted = False
    assert validator.is_valid(value) == accepted, (value, accepted)


FREE_TEXT = [
    (Text, 10),
    (TagName, TAG_NAME_MAX),
    (Name, NAME_MAX),
    (NoteText, NOTE_TEXT_MAX),
    (Location, LOCATION_MAX),
    (AgentInstructions, AGENT_INSTRUCTIONS_MAX),
]


@pytest.mark.parametrize(("field_type", "limit"), FREE_TEXT, ids=lambda v: getattr(v, "__name__", str(v)))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_free_text_schema_admits_what_the_rule_accepts(
    field_type: Any, limit: int, data: st.DataObject
) -> None:
    agrees(field_type, data.draw(padded_text(around(limit))))


PHONES = [
    "+971 50 123 4567",
    "00971 (50) 123-4567",
    "+٩٧١٥٠١٢٣٤٥٦٧",
    "+0971501234567",
    "+971 12",
    "0501234567",
]
CODES = [
    "#A1B2C3",
    "#a1b2c3",
    "#12345",
    "#1234567",
    "123456",
    "#GGGGGG",
    "ar",
    "AR",
    "Ar",
    "eng",
    "xx",
    "ae",
    "UK",
]


@pytest.mark.parametrize("field_type", [TagColor, Language, Country], ids=["color", "language", "country"])
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_coded_fields_schema_admits_what_the_rule_accepts(field_type: Any, data: st.DataObject) -> None:
    core = st.one_of(
        st.sampled_from(CODES), st.text(st.sampled_from([*LETTERS, "K", "\u212a", "ß"]), max_size=8)
    )
    agrees(field_type, data.draw(padded_text(core)))


PHONE_CHARACTERS = ["+", "0", "0", "1", "7", "9", "٩", "۷", " ", "(", ")", "-", ".", "/", "x", "\u00a0"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.sampled_from(PHONES), padded_text(st.text(st.sampled_from(PHONE_CHARACTERS), max_size=24)))
)
def test_phone_schema_admits_what_the_rule_accepts(phone: str) -> None:
    agrees(Phone, phone)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.uuids().map(lambda u: u.hex)
        ),
        max_size=102,
    )
)
def test_tag_ids_schema_admits_what_the_rule_accepts(ids: list[str]) -> None:
    agrees(TagIds, ids)


@pytest.mark.parametrize(
    "name", ["UTC", "Asia/Dubai", "America/Argentina/Buenos_Aires", "utc", "localtime", "Mars/Olympus", ""]
)
def test_time_zone_schema_admits_what_the_rule_accepts(name: str) -> None:
    agrees(TimeZoneName, name)


@pytest.mark.parametrize(
    "cursor",
    [
        seal_cursor("secret", "raw"),
        seal_cursor("secret", "x" * 100),
        "",
        "abc",
        "abc.def",
        "a.b" * 10,
        "a b.0",
    ],
)
def test_cursor_schema_admits_the_shape_the_rule_accepts(cursor: str) -> None:
    agrees(Cursor, cursor)
