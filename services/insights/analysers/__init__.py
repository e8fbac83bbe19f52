"""Analysers of closed conversations, and the one the settings ask for."""

import time
from dataclasses import replace

from services.insights.analysers.base import (
    Analyser,
    AnalyserUnavailable,
    Analysis,
    AnalysisFailed,
    AnalysisRequest,
)
from services.insights.analysers.embedded import EmbeddedAnalyser
from services.insights.analysers.llm import LlmAnalyser
from services.insights.config import Settings
from shared.logging import get_logger

log = get_logger(__name__)

__all__ = [
    "Analyser",
    "AnalyserUnavailable",
    "Analysis",
    "AnalysisFailed",
    "AnalysisRequest",
    "EmbeddedAnalyser",
    "FallbackAnalyser",
    "LlmAnalyser",
    "build_analyser",
]


class FallbackAnalyser:
    """The primary analyser, or the fallback marked degraded while the primary is down.

    After the primary is found down, it is not tried again for `cooldown_seconds`: each attempt
    costs its full retry budget, which would stall every conversation behind it.
    """

    def __init__(self, primary: Analyser, fallback: Analyser, *, cooldown_seconds: float = 30.0) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.cooldown_seconds = cooldown_seconds
        self._down_until = 0.0

    async def analyse(self, request: AnalysisRequest) -> Analysis:
        """The primary's analysis; the fallback's, degraded, when the primary is unavailable."""
        reason = f"{self.primary.name} skipped: found down recently"
        if time.monotonic() >= self._down_until:
            try:
                return await self.primary.analyse(request)
            except AnalyserUnavailable as exc:
                self._down_until = time.monotonic() + self.cooldown_seconds
                reason = f"{self.primary.name} unavailable: {exc}"
                log.warning("analyser_fallback", primary=self.primary.name, error=str(exc))
        analysis = await self.fallback.analyse(request)
        return replace(analysis, degraded=True, notes=(*analysis.notes, reason))

    async def aclose(self) -> None:
        """Close both analysers."""
        await self.primary.aclose()
        await self.fallback.aclose()


def build_analyser(settings: Settings) -> Analyser:
    """The LLM (with the embedded fallback) when an endpoint is configured, else the embedded one."""
    embedded = EmbeddedAnalyser()
    if not settings.llm_configured:
        return embedded
    llm = LlmAnalyser(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout_seconds=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
        backoff_seconds=settings.openai_backoff_seconds,
        backoff_max_seconds=settings.openai_backoff_max_seconds,
        malformed_retries=settings.openai_malformed_retries,
        max_input_tokens=settings.openai_max_input_tokens,
        max_output_tokens=settings.openai_max_output_tokens,
        response_format=settings.openai_response_format,
    )
    return FallbackAnalyser(llm, embedded, cooldown_seconds=settings.openai_cooldown_seconds)
