"""What every analyser takes and gives, and the Analyser protocol."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.insights.service import ProfileFacts, sentiment_label
from shared.messages.insights import SentimentLabel
from shared.messages.timeline import TranscriptMessage


@dataclass(frozen=True)
class AnalysisRequest:
    """One closed conversation and what is already known of its customer (nothing else)."""

    conversation_id: str
    customer_id: str
    platform: str
    messages: Sequence[TranscriptMessage]
    truncated: bool = False
    existing_profile: ProfileFacts | None = None


@dataclass(frozen=True)
class Analysis:
    """What an analyser found, and how (analyser, model, tokens, latency, attempts)."""

    summary: str | None
    sentiment_score: float | None
    language: str | None
    topics: tuple[str, ...]
    profile: ProfileFacts
    analyser: str
    model: str | None = None
    degraded: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sentiment(self) -> SentimentLabel | None:
        """The conversation's sentiment label, null when the analyser could not judge."""
        return sentiment_label(self.sentiment_score)


class AnalysisFailed(Exception):
    """The analysis cannot be produced now (e.g. the model keeps answering malformed output)."""


class AnalyserUnavailable(Exception):
    """The analyser's backend is down (connection error, timeout, 5xx or 429 after retries)."""


class Analyser(Protocol):
    """Turns one conversation into a summary, a sentiment, topics and profile facts."""

    name: str

    async def analyse(self, request: AnalysisRequest) -> Analysis:
        """Analyse one conversation; AnalyserUnavailable or AnalysisFailed when it cannot."""
        ...

    async def aclose(self) -> None:
        """Release what the analyser holds (HTTP connections)."""
        ...
