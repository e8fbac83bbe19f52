"""Settings every process reads from the environment (pydantic-settings)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Connection settings shared by every service and the gateway."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # The process's own NATS user (CONTRACT.md §8); unset for a server without authorization.
    nats_user: str | None = None
    nats_password: str | None = None
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"
    # Seconds a service waits for a stream it binds to (declared by another service) to appear,
    # and for JetStream to declare its own while it does not answer (a cluster electing leaders).
    stream_wait_seconds: float = 60.0
    # The admin port: /healthz, /readyz, /metrics (CONTRACT.md §9). Port 0 takes any free one.
    admin_host: str = "127.0.0.1"
    admin_port: int = 9090
    # Seconds a readiness check waits for each dependency to answer.
    readiness_timeout: float = 1.0
    # Seconds between samples of what is measured by asking (consumer lag, dead letters, outbox).
    metrics_interval_seconds: float = 5.0
    # Metrics, traces and the gateway's access log; false only to measure what they cost (make bench).
    telemetry: bool = True
    # Where spans go (OTLP/HTTP); without either, tracing only carries the caller's trace context.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None

    @property
    def exports_traces(self) -> bool:
        """Whether spans are recorded and exported over OTLP."""
        return self.telemetry and bool(
            self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint
        )


class ServiceSettings(CommonSettings):
    """Settings of one service; its database is named after the service unless overridden."""

    service_database_url: str | None = None
    # Copies JetStream keeps of each stream the service declares: 1 on one server, 3 in a cluster
    # (any one server may then be lost). JetStream allows at most 5.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    consumer_batch: int = 100
    # Generous on purpose: a dependency outage (PostgreSQL or another service restarting) also
    # fails deliveries, and must not push valid events into the dead letters (~2.5 min of retries).
    max_deliver: int = 10
    # Seconds between redeliveries of a failing event: one entry per retry, the last repeats.
    retry_backoff: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)
