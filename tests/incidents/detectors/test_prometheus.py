"""The model detectors reading Prometheus over HTTP (respx): its answers, ops.yml's thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import respx

from bot.incidents.detectors.models import DRIFT, ERROR_RATE, LATENCY, over_threshold
from integrations.hub import Sources
from integrations.prometheus import PrometheusMetrics
from tests.incidents.detectors.conftest import deps_for, example_config
from tests.incidents.detectors.test_fake_sources import FakeModels

BASE = "http://prometheus.test"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# What Prometheus says per model and metric (latency in seconds, as the PromQL returns it).
VALUES = {
    ("churn", "model_drift_score"): 0.41,
    ("churn", "model_request_latency_seconds_bucket"): 0.048,
    ("churn", "model_request_errors_total"): 0.002,
    ("fraud", "model_drift_score"): 0.04,
    ("fraud", "model_request_latency_seconds_bucket"): 0.9,
    ("fraud", "model_request_errors_total"): 0.12,
}


def answer(request: httpx.Request) -> httpx.Response:
    query = request.url.params["query"]
    for (model, metric), value in VALUES.items():
        if f'model="{model}"' in query and metric in query:
            result = [{"metric": {"model": model}, "value": [NOW.timestamp(), str(value)]}]
            return httpx.Response(
                200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
            )
    return httpx.Response(
        200, json={"status": "success", "data": {"resultType": "vector", "result": []}}
    )


@respx.mock
async def test_drift_latency_and_errors_from_prometheus_over_the_thresholds():
    route = respx.get(f"{BASE}/api/v1/query").mock(side_effect=answer)
    registry = FakeModels({"churn": None, "fraud": None})  # type: ignore[dict-item]
    sources = Sources(registries=[registry], metrics=[PrometheusMetrics(BASE)])
    deps = deps_for(sources, example_config(), NOW)  # drift 0.25, p95 250 ms, errors 5%
    drift = await over_threshold(DRIFT)(deps)
    latency = await over_threshold(LATENCY)(deps)
    errors = await over_threshold(ERROR_RATE)(deps)
    assert drift.complete and latency.complete and errors.complete
    assert [e.title for e in drift.firing] == ["churn drift 0.41 is above 0.25"]
    assert [e.title for e in latency.firing] == ["fraud latency p95 900 ms is above 250 ms"]
    assert [e.title for e in errors.firing] == ["fraud error rate 12.0% is above 5.0%"]
    assert route.call_count >= 6


@respx.mock
async def test_prometheus_down_is_an_incomplete_read_not_a_healthy_model():
    respx.get(f"{BASE}/api/v1/query").mock(return_value=httpx.Response(503, text="down"))
    registry = FakeModels({"churn": None})  # type: ignore[dict-item]
    sources = Sources(registries=[registry], metrics=[PrometheusMetrics(BASE)])
    found = await over_threshold(DRIFT)(deps_for(sources, example_config(), NOW))
    assert found.firing == () and not found.complete
    assert found.problems[0].source == "prometheus"
