"""The embedded analyser on the labelled set of realistic support conversations."""

from dataclasses import replace

import pytest

from services.insights.analysers import EmbeddedAnalyser
from services.insights.analysers.base import AnalysisRequest
from tests.insights.support import labelled, labelled_conversations

ACCURACY_FLOOR = 0.75


@pytest.fixture(scope="module")
def analyser() -> EmbeddedAnalyser:
    """One analyser for the module: loading VADER and langdetect profiles is the slow part."""
    return EmbeddedAnalyser()


def test_the_labelled_set_covers_what_the_analyser_must_handle() -> None:
    conversations = labelled_conversations()
    assert len(conversations) >= 16
    assert {c.kind for c in conversations} == {"positive", "negative", "neutral", "mixed"}
    assert {"orders", "refunds", "shipping", "pricing"} <= {t for c in conversations for t in c.topics}
    assert any(c.language != "en" for c in conversations)
    assert all(len(c.messages) >= 3 for c in conversations)


def test_sentiment_accuracy_on_english_conversations(analyser: EmbeddedAnalyser) -> None:
    english = [c for c in labelled_conversations() if c.language == "en"]
    misses = []
    for conversation in english:
        analysis = analyser.analyse_now(conversation.request())
        if analysis.sentiment != conversation.label:
            misses.append(f"{conversation.id}: {analysis.sentiment} ({analysis.sentiment_score})")
    accuracy = 1 - len(misses) / len(english)
    print(f"\nembedded sentiment accuracy: {accuracy:.0%} ({len(english) - len(misses)}/{len(english)})")
    for miss in misses:
        print(f"  missed {miss}")
    assert accuracy >= ACCURACY_FLOOR, misses


def test_clearly_negative_and_positive_conversations_are_never_confused(analyser: EmbeddedAnalyser) -> None:
    for conversation in labelled_conversations():
        if conversation.kind in ("positive", "negative") and conversation.label is not None:
            analysis = analyser.analyse_now(conversation.request())
            opposite = "negative" if conversation.label == "positive" else "positive"
            assert analysis.sentiment != opposite, conversation.id


def test_languages_without_a_sentiment_model_give_null_not_a_guess(analyser: EmbeddedAnalyser) -> None:
    others = [c for c in labelled_conversations() if c.language != "en"]
    assert {c.language for c in others} >= {"es", "ar"}
    for conversation in others:
        analysis = analyser.analyse_now(conversation.request())
        assert analysis.language == conversation.language, conversation.id
        assert analysis.sentiment_score is None, conversation.id
        assert analysis.sentiment is None, conversation.id
        # It still says what the conversation was about, and who the customer is.
        assert analysis.summary, conversation.id
        assert set(conversation.topics) & set(analysis.topics), conversation.id


def test_support_topics_are_found(analyser: EmbeddedAnalyser) -> None:
    expected = found = 0
    for conversation in labelled_conversations():
        topics = analyser.analyse_now(conversation.request()).topics
        assert 1 <= len(topics) <= 6, conversation.id
        expected += len(conversation.topics)
        found += len(set(conversation.topics) & set(topics))
    recall = found / expected
    print(f"\nembedded taxonomy-topic recall: {recall:.0%} ({found}/{expected})")
    assert recall >= 0.85


def test_keywords_name_the_products_the_customer_wrote_about(analyser: EmbeddedAnalyser) -> None:
    cases = {
        "pos-bulk-discount": "bamboo cutting boards",
        "pos-refund-confirmed": "green rain jacket",
        "neg-refund-refused": "blender",
        "mix-price-increase": "coffee subscription",
    }
    for conversation_id, keyword in cases.items():
        analysis = analyser.analyse_now(labelled(conversation_id).request())
        assert keyword in analysis.topics, (conversation_id, analysis.topics)
        # Feelings, greetings and weekdays are not topics.
        assert not {"terrible", "thanks", "hello", "monday"} & set(analysis.topics)


def test_summary_states_the_issue_and_what_support_did(analyser: EmbeddedAnalyser) -> None:
    analysis = analyser.analyse_now(labelled("neg-late-delivery").request())
    assert analysis.summary is not None
    assert analysis.summary.startswith("Customer: It's been three weeks and my order still hasn't arrived.")
    assert "Support: I've opened an investigation with the carrier" in analysis.summary
    assert analysis.summary.endswith("The customer remained dissatisfied.")

    happy = analyser.analyse_now(labelled("pos-refund-confirmed").request()).summary
    assert happy is not None
    assert "refunded $89.00" in happy
    assert happy.endswith("The customer ended satisfied.")


def test_profile_facts_describe_the_customer(analyser: EmbeddedAnalyser) -> None:
    bulk = analyser.analyse_now(labelled("pos-bulk-discount").request()).profile
    assert "Contacts support via the web chat" in bulk.communication_preferences
    assert {"Buys in bulk", "Buys for a business", "Asks about discounts and deals"} <= set(
        bulk.purchase_behavior
    )
    assert "Prices and discounts" in bulk.topics_of_interest

    angry = analyser.analyse_now(labelled("neg-late-delivery").request()).profile
    assert {"Expresses frustration openly", "At risk of leaving"} <= set(angry.key_characteristics)

    spanish = analyser.analyse_now(labelled("es-pedido-retrasado").request()).profile
    assert "Writes in Spanish" in spanish.communication_preferences
    assert not {"Expresses frustration openly", "Friendly and appreciative"} & set(
        spanish.key_characteristics
    )


def test_results_are_deterministic(analyser: EmbeddedAnalyser) -> None:
    for conversation in labelled_conversations()[::3]:
        first = replace(analyser.analyse_now(conversation.request()), latency_ms=0.0)
        assert replace(analyser.analyse_now(conversation.request()), latency_ms=0.0) == first


def test_a_conversation_without_customer_words_has_no_sentiment(analyser: EmbeddedAnalyser) -> None:
    only_support = labelled("pos-order-tracking").transcript_messages()[1:2]
    analysis = analyser.analyse_now(
        AnalysisRequest(conversation_id="c", customer_id="u", platform="web", messages=only_support)
    )
    assert analysis.sentiment_score is None
    assert analysis.summary is None
    empty = analyser.analyse_now(
        AnalysisRequest(conversation_id="c", customer_id="u", platform="web", messages=[])
    )
    assert (empty.sentiment, empty.summary, empty.topics, empty.language) == (None, None, (), None)
