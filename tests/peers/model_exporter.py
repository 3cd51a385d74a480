"""A tiny model-serving exporter with known traffic, latency, errors and drift, for Prometheus.

Run: python model_exporter.py --port PORT. Every tick it records, per model, 19 fast and 1 slow
request latency (so histogram_quantile(0.95) lands exactly on the fast share's bucket bound),
REQUESTS_PER_TICK requests with `errors` of them failing, and a constant drift score.
"""

from __future__ import annotations

import argparse
import time
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


def serve(port: int) -> None:
    from prometheus_client import Counter, Gauge, Histogram, start_http_server

    latency = Histogram(
        "model_request_latency_seconds", "Serving latency", ["model"], buckets=BUCKETS
    )
    requests = Counter("model_requests_total", "Requests served", ["model"])
    errors = Counter("model_request_errors_total", "Requests that failed", ["model"])
    drift = Gauge("model_drift_score", "Population stability index of inputs", ["model"])
    for name, profile in PROFILES.items():
        drift.labels(model=name).set(profile.drift)
        errors.labels(model=name).inc(0)  # export the series at 0 from the start
    start_http_server(port, addr="127.0.0.1")
    while True:
        for name, profile in PROFILES.items():
            for _ in range(FAST_PER_TICK):
                latency.labels(model=name).observe(profile.fast_seconds)
            for _ in range(SLOW_PER_TICK):
                latency.labels(model=name).observe(profile.slow_seconds)
            requests.labels(model=name).inc(REQUESTS_PER_TICK)
            errors.labels(model=name).inc(profile.errors_per_tick)
        time.sleep(TICK_SECONDS)


if __name__ == "__main__":
    _check_profiles()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)
