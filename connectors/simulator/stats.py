"""What a publishing run did: counts, publish-to-ack latency quantiles, the progress line."""

import math
from collections import Counter
from dataclasses import dataclass, field

# Log-spaced buckets, 2% apart, from 10 µs: quantiles within 2% at any rate, in constant memory.
_BASE = 1e-5
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)


@dataclass
class LatencyHistogram:
    """Latencies in seconds, bucketed; quantile() answers within 2%."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        bucket = 0 if seconds <= _BASE else int(math.log(seconds / _BASE) / _LOG_GROWTH) + 1
        self.buckets[bucket] += 1
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 < q <= 1) in seconds, or None when nothing was recorded."""
        if not self.count:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return _BASE * _GROWTH**bucket
        raise AssertionError("unreachable: ranks are within count")


@dataclass
class PublishStats:
    """Counters of a run; `window` holds the latencies since the last progress line."""

    sent: int = 0
    acked: int = 0
    retried: int = 0
    duplicates: int = 0
    acked_by_type: Counter[str] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    window: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def in_flight(self) -> int:
        """Events published and not yet acknowledged."""
        return self.sent - self.acked

    def new_window(self) -> None:
        """Start the next progress line's latency window."""
        self.window = LatencyHistogram()

    def record_ack(self, event_type: str, seconds: float, duplicate: bool) -> None:
        """An event was acknowledged `seconds` after its first attempt."""
        self.acked += 1
        self.acked_by_type[event_type] += 1
        self.duplicates += duplicate
        self.latency.add(seconds)
        self.window.add(seconds)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def progress_line(stats: PublishStats, elapsed: float, rate: float) -> str:
    """One line: elapsed time, events sent/acked/retried, in flight, latency p50/p99 of the last window."""
    return (
        f"[{elapsed:6.1f}s] sent {stats.sent}  acked {stats.acked}  retried {stats.retried}  "
        f"in flight {stats.in_flight}  {rate:.1f} acked/s  "
        f"p50 {_ms(stats.window.quantile(0.5))}  p99 {_ms(stats.window.quantile(0.99))}"
    )


def summary_line(stats: PublishStats, elapsed: float) -> str:
    """The closing line of a run, with latency quantiles over all of it."""
    return (
        f"after {elapsed:.1f}s: sent {stats.sent}, acked {stats.acked}, retried {stats.retried} "
        f"({stats.duplicates} acks said JetStream already had the event), "
        f"publish-to-ack p50 {_ms(stats.latency.quantile(0.5))}, p99 {_ms(stats.latency.quantile(0.99))}"
    )
