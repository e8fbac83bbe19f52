"""Domain rules: sentiment labels, the average sentiment, the incremental AI-profile merge."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.insights.service import (
    MAX_ITEMS_PER_SECTION,
    PROFILE_SECTIONS,
    ProfileFacts,
    ProfileItem,
    StoredProfile,
    average_sentiment,
    merge_profile,
    sentiment_label,
)


def test_labels_follow_the_contract_thresholds() -> None:
    assert sentiment_label(0.05) == "positive"
    assert sentiment_label(0.0499) == "neutral"
    assert sentiment_label(-0.0499) == "neutral"
    assert sentiment_label(-0.05) == "negative"
    assert sentiment_label(1.0) == "positive"
    assert sentiment_label(None) is None


def test_average_is_the_mean_over_conversations_with_a_score() -> None:
    result = average_sentiment([0.8, -0.2, None, 0.3])
    assert result.average == 0.3
    assert result.label == "positive"
    assert result.conversations == 3

    assert average_sentiment([0.1, -0.2]).model_dump() == {
        "average": -0.05,
        "label": "negative",
        "conversations": 2,
    }
    assert average_sentiment([0.04, 0.06]).label == "positive"
    assert average_sentiment([0.5, -0.5]).model_dump() == {
        "average": 0.0,
        "label": "neutral",
        "conversations": 2,
    }


def test_no_scored_conversation_means_null_average_and_label() -> None:
    assert average_sentiment([]).model_dump() == {"average": None, "label": None, "conversations": 0}
    assert average_sentiment([None, None]).model_dump() == {
        "average": None,
        "label": None,
        "conversations": 0,
    }


START = datetime(2026, 1, 1, tzinfo=UTC)


def _at(conversation_id: str) -> datetime:
    """When a test conversation happened: c1 before c2 before c3 ..., old-N before new."""
    digits = "".join(ch for ch in conversation_id if ch.isdigit())
    return START + timedelta(hours=1000 if conversation_id == "new" else int(digits or 0))


def _merge(profile: StoredProfile | None, conversation_id: str, facts: ProfileFacts) -> StoredProfile:
    return merge_profile(profile, conversation_id, facts, _at(conversation_id))


def _ids(profile: StoredProfile, section: str) -> dict[str, tuple[str, ...]]:
    return {item.text: item.conversation_ids for item in profile.items(section)}


def test_merge_adds_new_items_and_confirms_existing_ones_with_their_conversations() -> None:
    first = _merge(
        None,
        "c1",
        ProfileFacts(
            communication_preferences=("Contacts support via WhatsApp",),
            purchase_behavior=("Buys gifts",),
        ),
    )
    second = _merge(
        first,
        "c2",
        ProfileFacts(
            communication_preferences=("contacts support via whatsapp.", "Uses emoji"),
            key_characteristics=("Polite",),
        ),
    )
    # Same fact, other case and a full stop: one item, both conversations, first wording kept.
    assert _ids(second, "communication_preferences") == {
        "Contacts support via WhatsApp": ("c1", "c2"),
        "Uses emoji": ("c2",),
    }
    assert _ids(second, "purchase_behavior") == {"Buys gifts": ("c1",)}
    assert _ids(second, "key_characteristics") == {"Polite": ("c2",)}
    assert _ids(second, "topics_of_interest") == {}


def test_reanalysing_a_conversation_replaces_its_contribution() -> None:
    profile = _merge(None, "c1", ProfileFacts(purchase_behavior=("Buys gifts", "Buys in bulk")))
    profile = _merge(profile, "c2", ProfileFacts(purchase_behavior=("Buys gifts",)))
    again = _merge(profile, "c1", ProfileFacts(purchase_behavior=("Has a subscription",)))
    # c1 no longer supports "Buys gifts" nor "Buys in bulk"; the latter had nothing else.
    assert _ids(again, "purchase_behavior") == {"Has a subscription": ("c1",), "Buys gifts": ("c2",)}
    assert _merge(again, "c1", ProfileFacts(purchase_behavior=("Has a subscription",))) == again


def test_a_section_keeps_this_conversation_then_the_best_supported_items() -> None:
    profile = StoredProfile()
    for n in range(MAX_ITEMS_PER_SECTION):
        profile = _merge(profile, f"old-{n}", ProfileFacts(key_characteristics=(f"Trait {n}",)))
    profile = _merge(profile, "old-9", ProfileFacts(key_characteristics=("Trait 3",)))
    profile = _merge(profile, "new", ProfileFacts(key_characteristics=("Fresh trait",)))
    texts = [item.text for item in profile.items("key_characteristics")]
    assert len(texts) == MAX_ITEMS_PER_SECTION
    assert texts[:2] == ["Fresh trait", "Trait 3"]


def test_profile_round_trips_through_json_and_shows_texts_only() -> None:
    profile = _merge(None, "c1", ProfileFacts(topics_of_interest=("Coffee",)))
    stored = StoredProfile.from_json(profile.to_json())
    assert stored == StoredProfile(
        {name: profile.items(name) for name in PROFILE_SECTIONS}, {"c1": _at("c1")}
    )
    assert profile.to_json()["topics_of_interest"] == [
        {"text": "Coffee", "conversation_ids": ["c1"], "last_seen_at": _at("c1").isoformat()}
    ]
    card = stored.public(datetime(2026, 1, 1, tzinfo=UTC))
    assert card.topics_of_interest == ["Coffee"]
    assert card.communication_preferences == []


_facts = st.builds(
    ProfileFacts,
    **{
        name: st.lists(
            st.sampled_from(["A", "a", "B", "C.", "D", "E", "F", "G", "H", "I", "J"]), max_size=6
        ).map(tuple)
        for name in PROFILE_SECTIONS
    },
)


@given(
    history=st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3", "c4"]), _facts), max_size=8),
    conversation=st.sampled_from(["c1", "c2", "c5"]),
    facts=_facts,
)
def test_merge_is_idempotent_and_bounded(
    history: list[tuple[str, ProfileFacts]], conversation: str, facts: ProfileFacts
) -> None:
    profile: StoredProfile | None = None
    for conversation_id, past in history:
        profile = _merge(profile, conversation_id, past)
    once = _merge(profile, conversation, facts)
    assert _merge(once, conversation, facts) == once
    for name in PROFILE_SECTIONS:
        items = once.items(name)
        assert len(items) <= MAX_ITEMS_PER_SECTION
        assert all(item.conversation_ids for item in items)
        assert len({item.text.casefold() for item in items}) == len(items)


# At most MAX_ITEMS_PER_SECTION distinct facts, so no section overflows and drops an item.
_few_facts = st.builds(
    ProfileFacts,
    **{
        name: st.lists(st.sampled_from(["A", "a", "B", "C.", "D", "E"]), max_size=4).map(tuple)
        for name in PROFILE_SECTIONS
    },
)


@given(
    analysed=st.lists(
        st.tuples(st.sampled_from(["c1", "c2", "c3", "c4"]), _few_facts), unique_by=lambda a: a[0], min_size=1
    ),
    data=st.data(),
)
def test_reanalysing_conversations_in_any_order_changes_nothing(
    analysed: list[tuple[str, ProfileFacts]], data: st.DataObject
) -> None:
    profile: StoredProfile | None = None
    for conversation_id, facts in analysed:
        profile = _merge(profile, conversation_id, facts)
    again = profile
    for conversation_id, facts in data.draw(st.permutations(analysed)):
        again = _merge(again, conversation_id, facts)
    assert again == profile


def test_an_items_conversations_are_in_the_order_they_happened() -> None:
    profile = _merge(None, "c3", ProfileFacts(purchase_behavior=("Buys gifts",)))
    profile = _merge(profile, "c1", ProfileFacts(purchase_behavior=("Buys gifts",)))
    profile = _merge(profile, "c2", ProfileFacts(purchase_behavior=("Buys gifts",)))
    assert _ids(profile, "purchase_behavior") == {"Buys gifts": ("c1", "c2", "c3")}


def test_an_item_says_when_it_was_last_seen() -> None:
    profile = _merge(None, "c1", ProfileFacts(purchase_behavior=("Buys gifts",)))
    profile = _merge(profile, "c3", ProfileFacts(purchase_behavior=("Buys gifts",)))
    (item,) = profile.items("purchase_behavior")
    assert (item.conversation_ids, item.last_seen_at) == (("c1", "c3"), _at("c3"))


def test_the_latest_traits_come_first() -> None:
    profile = _merge(None, "c1", ProfileFacts(key_characteristics=("Polite", "Time-sensitive")))
    profile = _merge(profile, "c2", ProfileFacts(key_characteristics=("Polite",)))
    profile = _merge(profile, "c3", ProfileFacts(key_characteristics=("Has had repeated problems",)))
    assert profile.public(START).key_characteristics == [
        "Has had repeated problems",
        "Polite",
        "Time-sensitive",
    ]


def test_a_contradicted_older_trait_is_dropped() -> None:
    profile = _merge(None, "c1", ProfileFacts(key_characteristics=("Friendly and appreciative", "Polite")))
    profile = _merge(profile, "c2", ProfileFacts(key_characteristics=("Expresses frustration openly",)))
    assert profile.public(START).key_characteristics == ["Expresses frustration openly", "Polite"]


def test_an_older_conversation_analysed_late_does_not_overrule_a_newer_one() -> None:
    profile = _merge(None, "c5", ProfileFacts(key_characteristics=("Friendly and appreciative",)))
    profile = _merge(profile, "c2", ProfileFacts(key_characteristics=("Expresses frustration openly",)))
    assert profile.public(START).key_characteristics == ["Friendly and appreciative"]


def test_withdrawing_a_conversation_brings_back_the_time_of_the_others() -> None:
    profile = _merge(None, "c1", ProfileFacts(purchase_behavior=("Buys gifts",)))
    profile = _merge(profile, "c4", ProfileFacts(purchase_behavior=("Buys gifts",)))
    profile = _merge(profile, "c4", ProfileFacts())
    (item,) = profile.items("purchase_behavior")
    assert (item.conversation_ids, item.last_seen_at) == (("c1",), _at("c1"))
    assert set(profile.seen) == {"c1"}


def test_a_profile_stored_before_recency_still_reads() -> None:
    stored = StoredProfile.from_json(
        {"key_characteristics": [{"text": "Polite", "conversation_ids": ["c1"]}]}
    )
    assert stored.items("key_characteristics") == (ProfileItem("Polite", ("c1",), None),)
    merged = _merge(stored, "c2", ProfileFacts(key_characteristics=("Uses emoji",)))
    assert [item.text for item in merged.items("key_characteristics")] == ["Uses emoji", "Polite"]
