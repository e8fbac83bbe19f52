"""Publish statistics: latency quantiles in constant memory."""

import pytest

from connectors.simulator.stats import LatencyHistogram


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
def test_latency_quantiles_are_within_two_percent(q: float) -> None:
    histogram = LatencyHistogram()
    samples = [i / 10_000 for i in range(1, 10_001)]  # 0.1 ms .. 1 s
    for sample in samples:
        histogram.add(sample)
    exact = samples[int(q * len(samples)) - 1]
    answer = histogram.quantile(q)
    assert answer is not None and abs(answer - exact) / exact <= 0.021
    assert LatencyHistogram().quantile(q) is None
