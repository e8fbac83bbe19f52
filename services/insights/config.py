"""Settings of the insights service."""

from typing import Literal

from pydantic import AliasChoices, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Environment of the insights service; `INSIGHTS_DATABASE_URL` overrides its database.

    With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set, conversations are analysed by that
    OpenAI-compatible endpoint (falling back to the embedded analyser while it is down);
    without either, by the embedded analyser alone.
    """

    service_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("INSIGHTS_DATABASE_URL", "service_database_url")
    )

    # Read from OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL (names are case-insensitive).
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    # json_schema (structured outputs) where the endpoint supports it, json_object where it does not.
    openai_response_format: Literal["json_schema", "json_object"] = "json_schema"
    # Seconds one Chat Completions call may take before it counts as the LLM being down.
    openai_timeout_seconds: float = 60.0
    # Retries of one call on 429, 5xx, timeouts and connection errors, with exponential back-off.
    openai_max_retries: int = 3
    openai_backoff_seconds: float = 1.0
    openai_backoff_max_seconds: float = 20.0
    # Extra calls when the model's answer is not valid JSON of the expected shape.
    openai_malformed_retries: int = 1
    # Input tokens the transcript may use; the most recent messages are kept when it is longer.
    openai_max_input_tokens: int = 6000
    openai_max_output_tokens: int = 800
    # Seconds the LLM is not tried again after it was found down (the embedded analyser stands in).
    openai_cooldown_seconds: float = 30.0

    # Seconds the profile service has to say where a customer the timeline no longer names went.
    profile_timeout_seconds: float = 2.0
    # Characters of transcript asked of the timeline (its most recent part).
    transcript_max_chars: int = 60_000
    transcript_timeout_seconds: float = 5.0
    # Seconds without an in-progress ack before JetStream hands a close to another replica.
    analysis_ack_wait_seconds: float = 60.0
    # Closed conversations one replica analyses at once.
    analysis_concurrency: int = 8

    @property
    def llm_configured(self) -> bool:
        """Whether an OpenAI-compatible endpoint was configured."""
        return bool(self.openai_api_key or self.openai_base_url)
