"""Domain rules: sentiment labels, the average sentiment, the incremental AI-profile merge."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.insights.service import (
    MAX_ITEMS_PER_SECTION,
    PROFILE_SECTIONS,
    ProfileFacts,
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


def _ids(profile: StoredProfile, section: str) -> dict[str, tuple[str, ...]]:
    return {item.text: item.conversation_ids for item in profile.items(section)}


def test_merge_adds_new_items_and_confirms_existing_ones_with_their_conversations() -> None:
    first = merge_profile(
        None,
        "c1",
        ProfileFacts(
            communication_preferences=("Contacts support via WhatsApp",),
            purchase_behavior=("Buys gifts",),
        ),
    )
    second = merge_profile(
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
    profile = merge_profile(None, "c1", ProfileFacts(purchase_behavior=("Buys gifts", "Buys in bulk")))
    profile = merge_profile(profile, "c2", ProfileFacts(purchase_behavior=("Buys gifts",)))
    again = merge_profile(profile, "c1", ProfileFacts(purchase_behavior=("Has a subscription",)))
    # c1 no longer supports "Buys gifts" nor "Buys in bulk"; the latter had nothing else.
    assert _ids(again, "purchase_behavior") == {"Has a subscription": ("c1",), "Buys gifts": ("c2",)}
    assert merge_profile(again, "c1", ProfileFacts(purchase_behavior=("Has a subscription",))) == again


def test_a_section_keeps_this_conversation_then_the_best_supported_items() -> None:
    profile = StoredProfile()
    for n in range(MAX_ITEMS_PER_SECTION):
        profile = merge_profile(profile, f"old-{n}", ProfileFacts(key_characteristics=(f"Trait {n}",)))
    profile = merge_profile(profile, "old-9", ProfileFacts(key_characteristics=("Trait 3",)))
    profile = merge_profile(profile, "new", ProfileFacts(key_characteristics=("Fresh trait",)))
    texts = [item.text for item in profile.items("key_characteristics")]
    assert len(texts) == MAX_ITEMS_PER_SECTION
    assert texts[:2] == ["Fresh trait", "Trait 3"]


def test_profile_round_trips_through_json_and_shows_texts_only() -> None:
    profile = merge_profile(None, "c1", ProfileFacts(topics_of_interest=("Coffee",)))
    stored = StoredProfile.from_json(profile.to_json())
    assert stored == StoredProfile({name: profile.items(name) for name in PROFILE_SECTIONS})
    assert profile.to_json()["topics_of_interest"] == [{"text": "Coffee", "conversation_ids": ["c1"]}]
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
        profile = merge_profile(profile, conversation_id, past)
    once = merge_profile(profile, conversation_id=conversation, facts=facts)
    assert merge_profile(once, conversation, facts) == once
    for name in PROFILE_SECTIONS:
        items = once.items(name)
        assert len(items) <= MAX_ITEMS_PER_SECTION
        assert all(item.conversation_ids for item in items)
        assert len({item.text.casefold() for item in items}) == len(items)
