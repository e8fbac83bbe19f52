"""Settings of the profile service."""

from pydantic import AliasChoices, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Environment of the profile service; `PROFILE_DATABASE_URL` overrides its database."""

    service_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("PROFILE_DATABASE_URL", "service_database_url")
    )
    # Seconds the agent context waits for the AI profile before answering without it.
    insights_timeout_seconds: float = 0.5
