"""Settings of the insights service."""

from pydantic import AliasChoices, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Environment of the insights service; `INSIGHTS_DATABASE_URL` overrides its database."""

    service_database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("INSIGHTS_DATABASE_URL", "service_database_url")
    )
