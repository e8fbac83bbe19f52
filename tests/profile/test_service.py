"""The profile service's domain rules, as plain functions (no servers needed)."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.routes.customers import parse_if_match
from services.profile.service import (
    EDITABLE,
    Contact,
    apply_contact_seen,
    bulk_tag_changes,
    grid_cursor,
    grid_order,
    like_pattern,
    name_key,
    new_customer,
    parse_grid_cursor,
    plan_bulk_tags,
    search_document,
    search_terms,
    validate_edit,
    validate_tag,
)
from shared.cursors import encode_cursor, encode_ordered_cursor
from shared.errors import Rejected
from shared.events import ContactSeen, ConversationStarted
from shared.fields import PROFILE_FIELDS
from shared.messages.profile import GridSort

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def seen(n: int, suffix: str = "", **fields: Any) -> ContactSeen:
    return ContactSeen.model_validate(
        {
            "event_id": f"e{n}{suffix}",
            "occurred_at": T0 + timedelta(minutes=n),
            "platform": "instagram",
            "platform_user_id": "dana",
            **fields,
        }
    )


def fresh_contact() -> Contact:
    created = new_customer(
        "ws",
        ConversationStarted.model_validate(
            {
                "event_id": "x",
                "occurred_at": T0,
                "platform": "instagram",
                "platform_user_id": "dana",
                "conversation_id": "c",
            }
        ),
    )
    return Contact(
        name=created.name,
        name_edited=False,
        avatar_url=None,
        instagram=created.instagram,
        seen={},
    )


EVENTS = [
    seen(1, display_name="First", avatar_url="https://img.example/a1", instagram={"followers": 10}),
    seen(2, instagram={"follow_status": "following"}),
    seen(3, display_name="Third"),
    seen(
        4,
        display_name="Fourth",
        avatar_url="https://img.example/a4",
        instagram={"followers": 40, "username": "dana.new"},
    ),
    seen(4, "b", display_name="Same instant"),
]


def replay(events: list[ContactSeen]) -> Contact:
    contact = fresh_contact()
    for event in events:
        contact, _ = apply_contact_seen(contact, event)
    return contact


def test_every_order_and_duplication_of_contact_seen_converges() -> None:
    expected = replay(EVENTS)
    # Same instant as e4, which is named too: the larger (occurred_at, event_id) wins.
    assert expected.name == "Same instant"
    assert expected.avatar_url == "https://img.example/a4"
    assert expected.instagram == {"username": "dana.new", "followers": 40, "follow_status": "following"}
    for order in itertools.permutations(EVENTS):
        assert replay([*order, *order[:2]]) == expected


@given(st.permutations(EVENTS), st.lists(st.sampled_from(EVENTS), max_size=4))
def test_any_order_with_duplicates_converges(order: list[ContactSeen], again: list[ContactSeen]) -> None:
    assert replay([*order, *again]) == replay(EVENTS)


def test_an_edited_name_is_never_renamed_but_other_details_refresh() -> None:
    contact = fresh_contact()
    edited = Contact(**{**contact.__dict__, "name": "Staff Name", "name_edited": True})
    updated, changes = apply_contact_seen(
        edited, seen(1, display_name="Connector", avatar_url="https://img.example/a1")
    )
    assert updated.name == "Staff Name"
    assert changes == {"avatar_url": {"old": None, "new": "https://img.example/a1"}}


def test_instagram_details_are_ignored_for_other_platforms() -> None:
    contact = Contact(name="v", name_edited=False, avatar_url=None, instagram=None, seen={})
    updated, changes = apply_contact_seen(contact, seen(1, instagram={"followers": 5}))
    assert updated.instagram is None and changes == {}


def test_display_names_are_trimmed_to_the_name_limit() -> None:
    updated, _ = apply_contact_seen(fresh_contact(), seen(1, display_name="  " + "n" * 300))
    assert updated.name == "n" * 200


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"phone": "+971 50 123 4567"}, {"phone": "+971501234567"}),
        ({"phone": "00971 (50) 123-4567"}, {"phone": "+971501234567"}),
        ({"email": " Dana.Q@ExAmple.COM "}, {"email": "Dana.Q@example.com"}),
        ({"language": "AR", "country": "ae"}, {"language": "ar", "country": "AE"}),
        ({"name": "  Dana  "}, {"name": "Dana"}),
        ({"location": "", "phone": "  ", "email": None}, {"location": None, "phone": None, "email": None}),
        ({"agent_instructions": "é" * 2000}, {"agent_instructions": "é" * 2000}),
        ({"location": "🙂" * 500}, {"location": "🙂" * 500}),
        ({"tag_ids": None}, {"tag_ids": []}),
        (
            {
                "tag_ids": [
                    "B8D5A8C6-0000-4000-8000-000000000002",
                    "b8d5a8c6-0000-4000-8000-000000000001",
                    "b8d5a8c6-0000-4000-8000-000000000002",
                ]
            },
            {"tag_ids": ["b8d5a8c6-0000-4000-8000-000000000001", "b8d5a8c6-0000-4000-8000-000000000002"]},
        ),
    ],
)
def test_edits_are_normalised(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    assert validate_edit(fields) == expected


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": None}, "name", "cannot be cleared"),
        ({"name": "   "}, "name", "must not be empty"),
        ({"name": "n" * 201}, "name", "at most 200"),
        ({"phone": "050 123 4567"}, "phone", "country code"),
        ({"phone": "+999 123"}, "phone", "phone number"),
        ({"phone": "+971 12"}, "phone", "not a valid phone number"),
        ({"email": "no-at-sign"}, "email", "not a valid email"),
        ({"email": "a@b"}, "email", "not a valid email"),
        ({"language": "xx"}, "language", "language code"),
        ({"language": "eng"}, "language", "language code"),
        ({"country": "UK"}, "country", "country code"),
        ({"location": "l" * 501}, "location", "at most 500"),
        ({"agent_instructions": "é" * 2001}, "agent_instructions", "at most 2000"),
        ({"tag_ids": ["not-a-uuid"]}, "tag_ids", "not a tag"),
        ({"tag_ids": "b8d5a8c6-0000-4000-8000-000000000001"}, "tag_ids", "list of tag ids"),
        ({"phone": 971501234567}, "phone", "must be a string"),
        ({"location": "a\x00b"}, "location", "U+0000"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at", "is not editable"),
    ],
)
def test_each_rule_names_its_field(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(Rejected) as caught:
        validate_edit(fields)
    assert len(caught.value.errors) == 1
    assert caught.value.errors[0].field == field
    assert message in caught.value.errors[0].message


def test_every_broken_field_is_reported_at_once() -> None:
    with pytest.raises(Rejected) as caught:
        validate_edit({"email": "x", "name": "", "country": "ZZ", "location": "fine"})
    assert [e.field for e in caught.value.errors] == ["name", "email", "country"]


def test_tags_need_a_name_and_an_rrggbb_colour() -> None:
    assert validate_tag("  VIP ", "#a1b2c3") == ("VIP", "#A1B2C3")
    with pytest.raises(Rejected) as caught:
        validate_tag(" ", "red")
    assert [e.field for e in caught.value.errors] == ["name", "color"]
    for color in ("#12345", "#1234567", "123456", "#GGGGGG"):
        with pytest.raises(Rejected):
            validate_tag(None, color)
    with pytest.raises(Rejected):
        validate_tag("t" * 51, None)


def test_search_matches_every_field_case_insensitively() -> None:
    doc = search_document("Élodie  Martin", "+971501234567", "Elo@example.com", "visitor-42")
    for q in ("élodie martin", "ÉLODIE", "+971 50 123", "50-123-45", "EXAMPLE.COM", "tor-4"):
        assert any(term in doc for term in search_terms(q)), q
    assert search_terms("  ") == []
    assert search_terms("+971 50") == ["+971 50", "+97150"]


def test_like_wildcards_are_literal() -> None:
    assert like_pattern("50%_\\") == "%50\\%\\_\\\\%"


def test_cursors_that_were_not_issued_are_rejected() -> None:
    issued = uuid.uuid4()
    newest = grid_order("-created_at")
    assert parse_grid_cursor(encode_ordered_cursor("-created_at", T0, str(issued)), newest) == (T0, issued)
    for raw in (
        "",
        "garbage",
        encode_ordered_cursor("-created_at", T0, "x"),
        f'["-created_at", "2026-01-01T00:00:00", "{issued}"]',
        encode_cursor(T0, str(issued)),
    ):
        with pytest.raises(Rejected):
            parse_grid_cursor(raw, newest)


@pytest.mark.parametrize("sort", get_args(GridSort))
def test_a_cursor_reads_back_under_its_own_order_only(sort: str) -> None:
    row = {"id": uuid.uuid4(), "created_at": T0, "last_contact_at": T0, "name_key": "zoë | o'neil"}
    order = grid_order(sort)
    assert parse_grid_cursor(grid_cursor(order, row), order) == (row[order.column], row["id"])
    other = grid_order(sort.removeprefix("-") if sort.startswith("-") else f"-{sort}")
    with pytest.raises(Rejected) as refused:
        parse_grid_cursor(grid_cursor(order, row), other)
    assert refused.value.errors[0].field == "cursor"


@pytest.mark.parametrize("sort", ["age", "--name", "NAME", ""])
def test_an_order_the_grid_does_not_have_is_refused(sort: str) -> None:
    with pytest.raises(Rejected):
        grid_order(sort)


def test_names_sort_without_case_accents_or_extra_spaces() -> None:
    names = ["bob", "Émile", "alice", "Zack", "zoë", "أحمد", "ليلى", "Álvaro", "  Alice   Smith "]
    assert sorted(names, key=name_key) == [
        "alice",
        "  Alice   Smith ",
        "Álvaro",
        "bob",
        "Émile",
        "Zack",
        "zoë",
        "أحمد",
        "ليلى",
    ]
    assert name_key("  Alice   Smith ") == "alice smith"
    # Hamza and harakat are marks: أَحمد sorts as احمد.
    assert name_key("أَحمد") == name_key("احمد")


def test_every_editable_field_has_a_rule_and_the_published_list_is_the_one_validated() -> None:
    assert tuple(spec.field for spec in PROFILE_FIELDS) == EDITABLE
    # Each field accepts a value (so each has a rule) and the limits are the ones published.
    for spec in PROFILE_FIELDS:
        if spec.max_length:
            assert validate_edit({spec.field: "x" * spec.max_length})[spec.field] == "x" * spec.max_length
            with pytest.raises(Rejected):
                validate_edit({spec.field: "x" * (spec.max_length + 1)})


def test_bulk_tags_change_only_the_customers_they_change() -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    plan = plan_bulk_tags([first, second, first, third], [uuid.UUID(a)], [uuid.UUID(b)])
    assert plan.customer_ids == [first, second, third]
    changes = bulk_tag_changes(plan, {first: [a], second: [b, c], third: []})
    assert changes == {
        second: {"tag_ids": {"old": sorted([b, c]), "new": sorted([a, c])}},
        third: {"tag_ids": {"old": [], "new": [a]}},
    }


@pytest.mark.parametrize("contradicts", [False, True])
def test_a_bulk_tag_edit_that_is_empty_or_contradicts_itself_is_refused(contradicts: bool) -> None:
    tag = uuid.uuid4()
    tags = [tag] if contradicts else []
    with pytest.raises(Rejected):
        plan_bulk_tags([uuid.uuid4()], tags, tags)


def test_bulk_tags_keep_a_customer_within_the_tag_limit() -> None:
    customer = uuid.uuid4()
    held = [str(uuid.uuid4()) for _ in range(100)]
    plan = plan_bulk_tags([customer], [uuid.uuid4()], [])
    with pytest.raises(Rejected):
        bulk_tag_changes(plan, {customer: held})


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("*", None),
        ("", None),
        ('"3"', [3]),
        ("3", [3]),
        ('W/"3"', [3]),
        ('"2", "5"', [2, 5]),
        ('"abc"', []),
        ('"99999999999999999999"', []),
    ],
)
def test_if_match_forms(header: str | None, versions: list[int] | None) -> None:
    assert parse_if_match(header) == versions
