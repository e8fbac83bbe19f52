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
    """One line of the AI profile, the conversations it was drawn from (oldest first) and when
    the latest of them happened."""

    text: str
    conversation_ids: tuple[str, ...]
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class StoredProfile:
    """The AI profile as stored: every item keeps the ids of its conversations, and `seen` when
    each of those conversations happened (its close), so recency survives a re-analysis."""

    sections: Mapping[str, tuple[ProfileItem, ...]] = field(default_factory=dict)
    seen: Mapping[str, datetime] = field(default_factory=dict)

    def items(self, name: str) -> tuple[ProfileItem, ...]:
        """The items of one section, current first."""
        return self.sections.get(name, ())

    def facts(self) -> ProfileFacts:
        """The texts alone (what an analyser is shown of the existing profile)."""
        return ProfileFacts(
            **{name: tuple(item.text for item in self.items(name)) for name in PROFILE_SECTIONS}
        )

    def to_json(self) -> dict[str, Any]:
        """JSONB shape: {section: [{text, conversation_ids, last_seen_at}], "seen": {id: time}}."""
        shape: dict[str, Any] = {
            name: [
                {
                    "text": item.text,
                    "conversation_ids": list(item.conversation_ids),
                    "last_seen_at": None if item.last_seen_at is None else item.last_seen_at.isoformat(),
                }
                for item in self.items(name)
            ]
            for name in PROFILE_SECTIONS
        }
        shape["seen"] = {conversation_id: at.isoformat() for conversation_id, at in self.seen.items()}
        return shape

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> "StoredProfile":
        """Read the JSONB shape back (profiles stored before recency have no times)."""
        raw = raw or {}
        return cls(
            {
                name: tuple(
                    ProfileItem(
                        str(item["text"]),
                        tuple(str(c) for c in item["conversation_ids"]),
                        _time(item.get("last_seen_at")),
                    )
                    for item in raw.get(name, [])
                )
                for name in PROFILE_SECTIONS
            },
            {str(c): at for c, value in (raw.get("seen") or {}).items() if (at := _time(value)) is not None},
        )

    def public(self, updated_at: datetime) -> AiProfile:
        """The AI profile card of CONTRACT.md §4: texts only, current first."""
        texts = self.facts()
        return AiProfile(
            communication_preferences=list(texts.communication_preferences),
            topics_of_interest=list(texts.topics_of_interest),
            purchase_behavior=list(texts.purchase_behavior),
            key_characteristics=list(texts.key_characteristics),
            updated_at=updated_at,
        )


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# Traits that cannot both be current: of each group, only the one seen last stays.
CONFLICTING_TRAITS: tuple[frozenset[str], ...] = (
    frozenset({"friendly and appreciative", "expresses frustration openly"}),
    frozenset({"enthusiastic about the brand", "at risk of leaving"}),
    frozenset({"writes short, to-the-point messages", "writes long, detailed messages"}),
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


def merge_profile(
    existing: StoredProfile | None, conversation_id: str, facts: ProfileFacts, seen_at: datetime
) -> StoredProfile:
    """The profile after (re-)analysing one conversation, which happened at `seen_at`.

    What an earlier analysis of the same conversation contributed is withdrawn first, so a
    re-analysis replaces it rather than adding to it. A fact equal (ignoring case) to an existing
    item confirms that item; others become new items. Each item is last seen when the latest of its
    conversations happened; of traits that contradict each other (CONFLICTING_TRAITS) only the one
    seen last stays. Items seen last come first, then those more conversations support; each
    section keeps at most MAX_ITEMS_PER_SECTION items.
    """
    existing = existing or StoredProfile()
    seen = {**existing.seen, conversation_id: seen_at}
    sections: dict[str, tuple[ProfileItem, ...]] = {}
    for name in PROFILE_SECTIONS:
        items: dict[str, tuple[str, tuple[str, ...]]] = {}
        for item in existing.items(name):
            ids = tuple(c for c in item.conversation_ids if c != conversation_id)
            if ids:
                items[_key(item.text)] = (item.text, ids)
        for fact in facts.section(name):
            text = clean_fact(fact)
            key = _key(text)
            if not text:
                continue
            previous_text, ids = items.get(key, (text, ()))
            if conversation_id not in ids:
                ids = _in_time_order((*ids, conversation_id), seen)[-MAX_CONVERSATIONS_PER_ITEM:]
            items[key] = (previous_text, ids)
        merged = [ProfileItem(text, ids, _last_seen(ids, seen)) for text, ids in items.values()]
        sections[name] = tuple(sorted(_without_contradicted(merged), key=_currency))[:MAX_ITEMS_PER_SECTION]
    referenced = {c for items in sections.values() for item in items for c in item.conversation_ids}
    return StoredProfile(sections, {c: at for c, at in seen.items() if c in referenced})


def rebuild_profile(analyses: Iterable[tuple[str, ProfileFacts, datetime]]) -> StoredProfile:
    """The profile of a customer's analysed conversations, (conversation id, facts, when it
    happened), as analysing them one by one in the order they happened builds it."""
    profile = StoredProfile()
    for conversation_id, facts, seen_at in sorted(analyses, key=lambda analysis: (analysis[2], analysis[0])):
        profile = merge_profile(profile, conversation_id, facts, seen_at)
    return profile


def _in_time_order(ids: Iterable[str], seen: Mapping[str, datetime]) -> tuple[str, ...]:
    # By when each conversation happened, not when it was (re-)analysed, so that concurrent
    # re-analyses applied in either order store the same profile. Ids of profiles stored before
    # recency have no time: they stay first, in their stored order.
    def happened(conversation_id: str) -> tuple[bool, float, str]:
        at = seen.get(conversation_id)
        return (False, 0.0, "") if at is None else (True, at.timestamp(), conversation_id)

    return tuple(sorted(ids, key=happened))


def _last_seen(ids: Iterable[str], seen: Mapping[str, datetime]) -> datetime | None:
    return max((seen[c] for c in ids if c in seen), default=None)


def _currency(item: ProfileItem) -> tuple[float, int, str]:
    # Latest first, then the best supported, then by text so that the order is always the same.
    at = item.last_seen_at.timestamp() if item.last_seen_at is not None else float("-inf")
    return (-at, -len(item.conversation_ids), item.text.casefold())


def _without_contradicted(items: Sequence[ProfileItem]) -> list[ProfileItem]:
    dropped: set[str] = set()
    for group in CONFLICTING_TRAITS:
        present = [item for item in items if item.text.casefold() in group]
        if len(present) > 1:
            dropped.update(item.text.casefold() for item in sorted(present, key=_currency)[1:])
    return [item for item in items if item.text.casefold() not in dropped]


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
