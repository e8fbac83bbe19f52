"""Settings of the notes service."""

from pydantic import AliasChoices, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Environment of the notes service; `NOTES_DATABASE_URL` overrides its database."""

    service_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NOTES_DATABASE_URL", "service_database_url")
    )
    # Seconds the profile service has to say whether a customer the projection misses exists.
    profile_timeout_seconds: float = 2.0
