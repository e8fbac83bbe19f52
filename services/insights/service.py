"""Domain rules of insights: sentiment labels, the average sentiment, the AI-profile merge.

Plain functions over plain data: no NATS, no SQL.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from shared.messages.insights import AiProfile, AverageSentiment, SentimentLabel
from shared.messages.timeline import Transcript

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05

PROFILE_SECTIONS = (
    "communication_preferences",
    "topics_of_interest",
    "purchase_behavior",
    "key_characteristics",
)
MAX_ITEMS_PER_SECTION = 8
MAX_ITEM_CHARS = 200
# An item confirmed by many conversations keeps only the most recent ids, so a row stays bounded.
MAX_CONVERSATIONS_PER_ITEM = 100


def transcript_digest(transcript: Transcript) -> str:
    """A fingerprint of what an analysis reads: equal digests, nothing new to analyse."""
    messages = [message.model_dump(mode="json") for message in transcript.messages]
    return hashlib.sha256(orjson.dumps([messages, transcript.truncated])).hexdigest()


def sentiment_label(score: float | None) -> SentimentLabel | None:
    """The label of a score in [-1, 1]: positive at 0.05 and above, negative at -0.05 and below."""
    if score is None:
        return None
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def clamp_score(score: float) -> float:
    """A score forced into [-1, 1] and rounded, so stored and shown values agree."""
    return round(max(-1.0, min(1.0, score)), 4)


def average_sentiment(scores: Iterable[float | None]) -> AverageSentiment:
    """The header's average over the conversations that have a score; null/null when none do."""
    known = [score for score in scores if score is not None]
    if not known:
        return AverageSentiment(average=None, label=None, conversations=0)
    average = clamp_score(sum(known) / len(known))
    return AverageSentiment(average=average, label=sentiment_label(average), conversations=len(known))


@dataclass(frozen=True)
class ProfileFacts:
    """What one conversation says about the customer, per AI-profile section."""

    communication_preferences: tuple[str, ...] = ()
    topics_of_interest: tuple[str, ...] = ()
    purchase_behavior: tuple[str, ...] = ()
    key_characteristics: tuple[str, ...] = ()

    def section(self, name: str) -> tuple[str, ...]:
        """The facts of one section."""
        value: tuple[str, ...] = getattr(self, name)
        return value

    def is_empty(self) -> bool:
        """Whether no section holds a fact."""
        return not any(self.section(name) for name in PROFILE_SECTIONS)


@dataclass(frozen=True)
class ProfileItem:
    """One line of the AI profile and the conversations it was drawn from."""

    text: str
    conversation_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredProfile:
    """The AI profile as stored: every item keeps the ids of its conversations."""

    sections: Mapping[str, tuple[ProfileItem, ...]] = field(default_factory=dict)

    def items(self, name: str) -> tuple[ProfileItem, ...]:
        """The items of one section, most relevant first."""
        return self.sections.get(name, ())

    def facts(self) -> ProfileFacts:
        """The texts alone (what an analyser is shown of the existing profile)."""
        return ProfileFacts(
            **{name: tuple(item.text for item in self.items(name)) for name in PROFILE_SECTIONS}
        )

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        """JSONB shape: {section: [{text, conversation_ids}]}."""
        return {
            name: [
                {"text": item.text, "conversation_ids": list(item.conversation_ids)}
                for item in self.items(name)
            ]
            for name in PROFILE_SECTIONS
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> "StoredProfile":
        """Read the JSONB shape back."""
        raw = raw or {}
        return cls(
            {
                name: tuple(
                    ProfileItem(str(item["text"]), tuple(str(c) for c in item["conversation_ids"]))
                    for item in raw.get(name, [])
                )
                for name in PROFILE_SECTIONS
            }
        )

    def public(self, updated_at: datetime) -> AiProfile:
        """The AI profile card of CONTRACT.md §4: texts only."""
        texts = self.facts()
        return AiProfile(
            communication_preferences=list(texts.communication_preferences),
            topics_of_interest=list(texts.topics_of_interest),
            purchase_behavior=list(texts.purchase_behavior),
            key_characteristics=list(texts.key_characteristics),
            updated_at=updated_at,
        )


_SPACES = re.compile(r"\s+")


def clean_fact(text: str) -> str:
    """One profile line: single spaces, bounded length, no trailing full stop."""
    text = _SPACES.sub(" ", text).strip().rstrip(".").strip()
    if len(text) > MAX_ITEM_CHARS:
        text = text[: MAX_ITEM_CHARS - 1].rstrip() + "…"
    return text


def _key(text: str) -> str:
    return clean_fact(text).casefold()


def merge_profile(existing: StoredProfile | None, conversation_id: str, facts: ProfileFacts) -> StoredProfile:
    """The profile after (re-)analysing one conversation, from the stored profile alone.

    What an earlier analysis of the same conversation contributed is withdrawn first, so a
    re-analysis replaces it rather than adding to it. A fact equal (ignoring case) to an existing
    item confirms that item; others become new items. Items of this conversation come first, then
    the rest by how many conversations support them; each section keeps at most
    MAX_ITEMS_PER_SECTION items.
    """
    existing = existing or StoredProfile()
    sections: dict[str, tuple[ProfileItem, ...]] = {}
    for name in PROFILE_SECTIONS:
        kept: dict[str, ProfileItem] = {}
        for item in existing.items(name):
            ids = tuple(c for c in item.conversation_ids if c != conversation_id)
            if ids:
                kept[_key(item.text)] = ProfileItem(item.text, ids)
        current: dict[str, ProfileItem] = {}
        for fact in facts.section(name):
            text = clean_fact(fact)
            key = _key(text)
            if not text or key in current:
                continue
            previous = kept.pop(key, None)
            ids = (*previous.conversation_ids, conversation_id) if previous else (conversation_id,)
            current[key] = ProfileItem(previous.text if previous else text, ids[-MAX_CONVERSATIONS_PER_ITEM:])
        others = sorted(kept.values(), key=lambda item: -len(item.conversation_ids))
        sections[name] = (*current.values(), *others)[:MAX_ITEMS_PER_SECTION]
    return StoredProfile(sections)


def dedupe(values: Sequence[str], limit: int) -> tuple[str, ...]:
    """The first `limit` distinct values (ignoring case), in order, blanks dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        text = clean_fact(value)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return tuple(out[:limit])
