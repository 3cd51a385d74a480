"""A tiny model-serving exporter with known traffic, latency, errors and drift, for Prometheus.

Run: python model_exporter.py --port PORT. Every tick counts, per model, 19 fast and 1 slow
request latency (so histogram_quantile(0.95) lands exactly on the fast share's bucket bound),
REQUESTS_PER_TICK requests with `errors` of them failing, and a constant drift score.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.08, 0.1, 0.25, 0.5, 0.9, 1.0, 2.5, 5.0, 10.0)
REQUESTS_PER_TICK = 100
FAST_PER_TICK = 19
SLOW_PER_TICK = 1
TICK_SECONDS = 0.1


@dataclass(frozen=True)
class Profile:
    fast_seconds: float  # 19 of 20 observations
    slow_seconds: float  # 1 of 20 observations
    p95_seconds: float  # upper bound of the fast observations' bucket: what p95 reports
    errors_per_tick: int
    drift: float

    @property
    def error_rate(self) -> float:
        return self.errors_per_tick / REQUESTS_PER_TICK


PROFILES: dict[str, Profile] = {
    "churn": Profile(
        fast_seconds=0.06, slow_seconds=0.2, p95_seconds=0.08, errors_per_tick=1, drift=0.05
    ),
    "fraud": Profile(
        fast_seconds=0.2, slow_seconds=0.4, p95_seconds=0.25, errors_per_tick=0, drift=0.04
    ),
    "recs": Profile(
        fast_seconds=0.6, slow_seconds=2.0, p95_seconds=0.9, errors_per_tick=8, drift=0.41
    ),
}


def _check_profiles() -> None:
    """The p95 claim holds only if each fast value sits in the bucket that ends at p95."""
    for name, p in PROFILES.items():
        below = max((b for b in BUCKETS if b < p.p95_seconds), default=0.0)
        if not (below < p.fast_seconds <= p.p95_seconds and p.p95_seconds in BUCKETS):
            raise ValueError(f"profile {name}: fast value not in the bucket ending at p95")


@dataclass(frozen=True)
class TickCounts:
    buckets: list[tuple[str, float]]  # cumulative, ending with +Inf
    latency_sum: float
    requests: float
    errors: float


def tick_counts(profile: Profile, ticks: int) -> TickCounts:
    """Every series' value after `ticks` whole ticks: one tick's traffic is never half-exported.

    Observing 19 fast and 1 slow latency one by one let a scrape land between them; early on,
    when Prometheus's rate window holds few ticks, that skewed p95 into the next bucket.
    """
    buckets: list[tuple[str, float]] = [
        (
            str(bound),
            ticks
            * (
                FAST_PER_TICK * (profile.fast_seconds <= bound)
                + SLOW_PER_TICK * (profile.slow_seconds <= bound)
            ),
        )
        for bound in BUCKETS
    ]
    buckets.append(("+Inf", ticks * (FAST_PER_TICK + SLOW_PER_TICK)))
    return TickCounts(
        buckets=buckets,
        latency_sum=ticks
        * (FAST_PER_TICK * profile.fast_seconds + SLOW_PER_TICK * profile.slow_seconds),
        requests=ticks * REQUESTS_PER_TICK,
        errors=ticks * profile.errors_per_tick,
    )


def serve(port: int) -> None:
    from prometheus_client import start_http_server
    from prometheus_client.core import (
        REGISTRY,
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )

    started = time.monotonic()

    class Traffic:
        """Computes every series from one tick count at scrape time, so a scrape is consistent."""

        def collect(self) -> Iterator[Metric]:
            ticks = int((time.monotonic() - started) / TICK_SECONDS)
            latency = HistogramMetricFamily(
                "model_request_latency_seconds", "Serving latency", labels=["model"]
            )
            requests = CounterMetricFamily("model_requests", "Requests served", labels=["model"])
            errors = CounterMetricFamily(
                "model_request_errors", "Requests that failed", labels=["model"]
            )
            drift = GaugeMetricFamily(
                "model_drift_score", "Population stability index of inputs", labels=["model"]
            )
            for name, profile in PROFILES.items():
                counts = tick_counts(profile, ticks)
                latency.add_metric([name], counts.buckets, counts.latency_sum)
                requests.add_metric([name], counts.requests)
                errors.add_metric([name], counts.errors)  # exported at 0 from the start
                drift.add_metric([name], profile.drift)
            yield from (latency, requests, errors, drift)

    REGISTRY.register(Traffic())
    start_http_server(port, addr="127.0.0.1")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _check_profiles()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)
