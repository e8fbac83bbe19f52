"""Every Prometheus metric the processes expose, and the one way each is recorded (CONTRACT.md §9).

A service is one process and exposes the default registry. The gateway runs several uvicorn
workers: with PROMETHEUS_MULTIPROC_DIR set, each worker writes its values to files there and a
scrape of any worker's admin port adds up the files of all of them (prometheus-client's
multiprocess mode).
"""

import functools
import os
import re
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# Read by prometheus-client when it is imported (gateway/__main__.py prepares the folder).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Seconds, from a view served from the cache to a request that hit its deadline; 0.02 is the
# view's p99 target (alert rules in deploy/observability).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds from the transaction that wrote an event to JetStream's acknowledgement of it.
OUTBOX_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds one conversation's analysis takes: the embedded analyser in milliseconds, an LLM in seconds.
ANALYSIS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

# Gateway.
HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests the gateway answered, by route template", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time the gateway took to answer a request, by route template",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
# One write per view, not one per section: a metric write costs a view ~10,000 instructions in
# multiprocess mode, and a warm view made four (docs/benchmarks.md). A section's own hit ratio is
# 1 - its misses / the lookups Redis answered.
VIEW_CACHE_LOOKUPS = Counter(
    "view_cache_lookups",
    "Profile views looked up in Redis: hit (every section found), partial, miss (none), error",
    ["result"],
)
VIEW_CACHE_SECTION_MISSES = Counter(
    "view_cache_section_misses", "Profile-view sections Redis did not hold when a view was read", ["section"]
)
RATE_LIMIT_REFUSALS = Counter("rate_limit_refusals", "Requests refused (429) by the per-workspace rate limit")
SSE_STREAMS = Gauge("sse_streams_open", "Server-Sent Event streams open now", multiprocess_mode="livesum")

# Request/reply, both sides.
RPC_CALLS = Counter(
    "rpc_calls",
    "Requests this process sent, by what came back (ok, an error code, unavailable)",
    ["operation", "outcome"],
)
RPC_REQUESTS = Counter(
    "rpc_requests",
    "Requests this service answered, by outcome (ok or the error code)",
    ["operation", "outcome"],
)
RPC_DURATION = Histogram(
    "rpc_request_duration_seconds",
    "Time this service took to answer a request",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

# Events.
EVENTS_PROCESSED = Counter(
    "events_processed",
    "Events a consumer handled: applied, duplicate (applied before), retried, dead_lettered",
    ["consumer", "outcome"],
)
CONSUMER_PENDING = Gauge(
    "consumer_pending_messages",
    "Messages of a durable consumer not yet delivered or not yet acknowledged (all replicas)",
    ["consumer"],
)
DEAD_LETTER_MESSAGES = Gauge(
    "dead_letter_messages", "Events set aside in the service's dead letters", ["service"]
)
OUTBOX_PENDING = Gauge(
    "outbox_pending_events", "Events written but not yet published to JetStream", ["service"]
)
OUTBOX_LATENCY = Histogram(
    "outbox_publish_latency_seconds",
    "Time from the transaction that wrote an event to JetStream's acknowledgement of it",
    buckets=OUTBOX_BUCKETS,
)

# Insights.
ANALYSIS_DURATION = Histogram(
    "insights_analysis_duration_seconds",
    "Time one conversation's analysis took, by analyser",
    ["analyser"],
    buckets=ANALYSIS_BUCKETS,
)
DEGRADED_ANALYSES = Counter(
    "insights_degraded_analyses", "Analyses the embedded analyser made standing in for an unavailable LLM"
)

# Every process: what its /readyz would answer (the gateway's workers: ready only if all are).
READY = Gauge(
    "ready", "1 while the process's /readyz answers 200, else 0", ["service"], multiprocess_mode="livemin"
)

_recording = True


@functools.cache
def _child(metric: Counter, *labels: str) -> Counter:
    return metric.labels(*labels)


def record(enabled: bool) -> None:
    """Record metrics or not (settings.telemetry); off, every function below returns at once."""
    global _recording
    _recording = enabled


@functools.cache
def _http(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    # The children of a label set, found once: `labels()` costs more than recording itself.
    return HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route)


@functools.cache
def _rpc(operation: str, outcome: str) -> tuple[Counter, Histogram]:
    return RPC_REQUESTS.labels(operation, outcome), RPC_DURATION.labels(operation)


def http_answered(method: str, route: str, status: int, seconds: float) -> None:
    """The gateway answered a request."""
    if _recording:
        requests, duration = _http(method, route, status)
        requests.inc()
        duration.observe(seconds)


def rpc_answered(operation: str, outcome: str, seconds: float) -> None:
    """A service answered a request."""
    if _recording:
        requests, duration = _rpc(operation, outcome)
        requests.inc()
        duration.observe(seconds)


def rpc_called(operation: str, outcome: str) -> None:
    """A request this process sent came back (or did not)."""
    if _recording:
        _child(RPC_CALLS, operation, outcome).inc()


EVENT_OUTCOMES = ("applied", "duplicate", "retried", "dead_lettered")


def consumer_started(consumer: str) -> None:
    """Every outcome of a consumer exists from zero on, so rates and alerts see its first event."""
    if _recording:
        for outcome in EVENT_OUTCOMES:
            EVENTS_PROCESSED.labels(consumer, outcome)


def operation_served(operation: str) -> None:
    """An operation's series exist from zero on, before its first request."""
    if _recording:
        RPC_REQUESTS.labels(operation, "ok")
        RPC_DURATION.labels(operation)


def events_processed(consumer: str, outcome: str, count: int = 1) -> None:
    """A consumer handled `count` events with this outcome."""
    if _recording and count:
        _child(EVENTS_PROCESSED, consumer, outcome).inc(count)


def consumer_pending(consumer: str, messages: int) -> None:
    """A durable consumer's backlog, as JetStream last reported it."""
    if _recording:
        CONSUMER_PENDING.labels(consumer).set(messages)


def dead_letters(service: str, messages: int) -> None:
    """How many events the service's dead-letter stream holds."""
    if _recording:
        DEAD_LETTER_MESSAGES.labels(service).set(messages)


def outbox_pending(service: str, events: int) -> None:
    """How many outbox rows wait for the relay."""
    if _recording:
        OUTBOX_PENDING.labels(service).set(events)


def outbox_published(latencies: Iterable[float]) -> None:
    """The relay published events that had waited these many seconds since their transaction."""
    if _recording:
        for seconds in latencies:
            OUTBOX_LATENCY.observe(seconds)


def view_cache_looked_up(found: int, missing: Sequence[str]) -> None:
    """One view's read of the cache: how many sections it found, and the sections it did not."""
    if _recording:
        _child(VIEW_CACHE_LOOKUPS, view_cache_result(found, missing)).inc()
        for section in missing:
            _child(VIEW_CACHE_SECTION_MISSES, section).inc()


def view_cache_unavailable() -> None:
    """A view's read of the cache failed (Redis away): every section came from the services."""
    if _recording:
        _child(VIEW_CACHE_LOOKUPS, "error").inc()


def view_cache_result(found: int, missing: Sequence[str]) -> str:
    """`hit` when every section was found, `miss` when none was, else `partial`."""
    if not missing:
        return "hit"
    return "partial" if found else "miss"


def rate_limited() -> None:
    """A request was refused by the rate limit."""
    if _recording:
        RATE_LIMIT_REFUSALS.inc()


def sse_streams(change: int) -> None:
    """A Server-Sent Events stream opened (+1) or closed (-1)."""
    if _recording:
        SSE_STREAMS.inc(change)


def analysed(analyser: str, seconds: float, *, degraded: bool) -> None:
    """Insights analysed a conversation."""
    if _recording:
        ANALYSIS_DURATION.labels(analyser).observe(seconds)
        if degraded:
            DEGRADED_ANALYSES.inc()


def readiness(service: str, ready: bool) -> None:
    """What the process's /readyz answers now."""
    if _recording:
        READY.labels(service).set(1 if ready else 0)


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The metrics in the format the scraper asked for (Prometheus text or OpenMetrics), and its type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_registry()), content_type


def _registry() -> CollectorRegistry:
    path = os.environ.get(MULTIPROCESS_DIR)
    if not path:
        return REGISTRY
    _forget_dead_processes(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return registry


def forget_process(pid: int) -> None:
    """A gateway worker ends: its live gauges (open streams, readiness) stop counting."""
    path = os.environ.get(MULTIPROCESS_DIR)
    if path:
        mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


_PID_OF_FILE = re.compile(r"_(\d+)\.db$")


def _forget_dead_processes(path: str) -> None:
    """Live gauges of workers that died without saying so (SIGKILL): the supervisor replaced them."""
    pids = {int(match.group(1)) for name in os.listdir(path) if (match := _PID_OF_FILE.search(name))}
    for pid in pids:
        if not _alive(pid):
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
