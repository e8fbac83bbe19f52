"""Settings of the gateway."""

import os

from pydantic import Field, field_validator

from shared.config import CommonSettings


class GatewaySettings(CommonSettings):
    """Environment of the gateway."""

    jwt_secret: str
    # Refuse tokens that expire later than this from now (make run's DEV_TOKEN lives 30 days).
    jwt_max_lifetime_seconds: int = Field(default=31 * 24 * 3600, ge=60)
    # When set, tokens must carry exactly this `iss` / this `aud`.
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # One uvicorn worker process per core (up to 4): a worker is one Python thread's worth of CPU.
    gateway_workers: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=1)
    # Seconds a service has to answer one request before its part counts as unavailable.
    service_timeout: float = 2.0
    # Seconds each service has to answer its part of the profile view before it is `unavailable`.
    view_timeout: float = 1.0
    max_body_bytes: int = 64 * 1024
    rate_limit_per_second: int = 500

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # HS256 with a short secret can be brute-forced offline from any one token.
        if len(value.encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes")
        return value
