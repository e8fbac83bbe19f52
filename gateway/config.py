"""Settings of the gateway."""

from shared.config import CommonSettings


class GatewaySettings(CommonSettings):
    """Environment of the gateway."""

    jwt_secret: str
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    gateway_workers: int = 1
    # Seconds a service has to answer one request before its part counts as unavailable.
    service_timeout: float = 2.0
    readiness_timeout: float = 1.0
    # Seconds each service has to answer its part of the profile view before it is `unavailable`.
    view_timeout: float = 1.0
    max_body_bytes: int = 64 * 1024
    rate_limit_per_second: int = 500
