"""The rules of merging one customer into another (CONTRACT.md §7), as plain functions."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.profile.service import Contact, apply_contact_seen, merge_contacts, new_customer, plan_merge
from shared.errors import Rejected
from shared.events import ContactSeen, ConversationStarted

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = ("whatsapp", "+971500000001")
SOURCE = ("instagram", "dana.k")


def fresh(platform: str, user: str) -> Contact:
    """The contact of a customer just created from one event of this identity."""
    created = new_customer(
        "ws",
        ConversationStarted(
            event_id="x", occurred_at=T0, platform=platform, platform_user_id=user, conversation_id="c"
        ),
    )
    return Contact(
        name=created.name, name_edited=False, avatar_url=None, instagram=created.instagram, seen={}
    )


@st.composite
def sightings(draw: st.DrawFn) -> list[ContactSeen]:
    """contact.seen events of both identities, some at the same instant."""
    events = []
    for n in range(draw(st.integers(0, 8))):
        platform, user = draw(st.sampled_from([TARGET, SOURCE]))
        fields: dict[str, Any] = {}
        if draw(st.booleans()):
            fields["display_name"] = draw(st.sampled_from(["Dana", "Dana K", "D. K."]))
        if draw(st.booleans()):
            fields["avatar_url"] = f"https://cdn.example.com/{n}.png"
        if draw(st.booleans()):
            fields["instagram"] = {"followers": draw(st.integers(0, 99)), "follow_status": "following"}
        events.append(
            ContactSeen(
                event_id=f"e{n}",
                occurred_at=T0 + timedelta(seconds=draw(st.integers(0, 4))),
                platform=platform,
                platform_user_id=user,
                **fields,
            )
        )
    return events


def replay(contact: Contact, events: list[ContactSeen]) -> Contact:
    for event in events:
        contact, _ = apply_contact_seen(contact, event)
    return contact


@given(sightings(), st.booleans())
def test_merging_before_or_after_the_events_gives_the_same_contact(
    events: list[ContactSeen], edited: bool
) -> None:
    target, source = fresh(*TARGET), fresh(*SOURCE)
    if edited:
        source = Contact(**{**source.__dict__, "name": "Named by staff", "name_edited": True})
    mine = [e for e in events if (e.platform, e.platform_user_id) == TARGET]
    theirs = [e for e in events if (e.platform, e.platform_user_id) == SOURCE]
    merged_after = merge_contacts(replay(target, mine), replay(source, theirs))
    merged_first = replay(merge_contacts(target, source), events)
    assert merged_after == merged_first
    if edited:
        assert merged_after.name == "Named by staff"


def test_a_name_staff_gave_the_target_wins_over_every_other() -> None:
    target = Contact(name="Target name", name_edited=True, avatar_url=None, instagram=None, seen={})
    source = Contact(name="Source name", name_edited=True, avatar_url="a", instagram=None, seen={})
    merged = merge_contacts(target, source)
    assert (merged.name, merged.name_edited, merged.avatar_url) == ("Target name", True, None)


def _row(identity: tuple[str, str], **values: Any) -> dict[str, Any]:
    contact = fresh(*identity)
    return {
        "id": uuid.uuid4(),
        "name": contact.name,
        "name_edited": False,
        "avatar_url": None,
        "instagram": contact.instagram,
        "seen": {},
        "phone": identity[1] if identity[0] == "whatsapp" else None,
        "email": None,
        "language": None,
        "country": None,
        "location": None,
        "agent_instructions": None,
        "tag_ids": [],
        "identities": [{"platform": identity[0], "platform_user_id": identity[1]}],
        "created_at": T0,
        "last_contact_at": T0,
        "version": 1,
        **values,
    }


def test_the_target_keeps_its_values_takes_the_sources_where_empty_and_both_tags() -> None:
    target = _row(
        TARGET, email="t@example.com", tag_ids=["a", "b"], version=4, created_at=T0 + timedelta(days=2)
    )
    source = _row(
        SOURCE,
        email="s@example.com",
        language="ar",
        location="Dubai",
        tag_ids=["b", "c"],
        last_contact_at=T0 + timedelta(days=5),
    )
    plan = plan_merge(target, source)
    assert plan.values == {
        "phone": TARGET[1],
        "email": "t@example.com",
        "language": "ar",
        "country": None,
        "location": "Dubai",
        "agent_instructions": None,
    }
    assert plan.tag_ids == ["a", "b", "c"]
    assert (plan.created_at, plan.last_contact_at) == (T0, T0 + timedelta(days=5))
    assert plan.version == 5
    assert plan.contact.instagram == source["instagram"]
    assert plan.changes == {
        "language": {"old": None, "new": "ar"},
        "location": {"old": None, "new": "Dubai"},
        "tag_ids": {"old": ["a", "b"], "new": ["a", "b", "c"]},
        "merged_from": {"old": None, "new": str(source["id"])},
    }
    # Search finds the merged customer by either identity.
    assert TARGET[1] in plan.search and SOURCE[1] in plan.search


def test_more_tags_together_than_a_customer_may_hold_is_refused() -> None:
    target = _row(TARGET, tag_ids=[f"t{n}" for n in range(60)])
    source = _row(SOURCE, tag_ids=[f"s{n}" for n in range(60)])
    with pytest.raises(Rejected) as refused:
        plan_merge(target, source)
    assert refused.value.errors[0].field == "source_id"
