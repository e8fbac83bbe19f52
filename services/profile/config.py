"""Settings of the profile service."""

from pydantic import AliasChoices, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Environment of the profile service; `PROFILE_DATABASE_URL` overrides its database."""

    service_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("PROFILE_DATABASE_URL", "service_database_url")
    )
