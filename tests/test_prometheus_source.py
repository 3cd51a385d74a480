"""Prometheus metrics adapter: safe PromQL, parsing real answers, and a real Prometheus server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.errors import SourceDataError, SourceUnavailable
from integrations.prometheus import (
    DEFAULT_QUERIES,
    MODEL_NAME,
    HealthThresholds,
    PrometheusMetrics,
    parse_instant,
    parse_range,
    render_query,
)
from integrations.protocols import MetricsSource
from tests.peers.model_exporter import PROFILES
from tests.peers.prometheus import AlertmanagerServer, PrometheusServer
from tests.peers.runtime import free_port

CAPTURED = Path(__file__).parent / "fixtures" / "captured"
BASE = "http://prometheus.test"
INJECTION = 'churn"}) or vector(1) #'


def captured(name: str) -> dict:
    return json.loads((CAPTURED / f"prometheus_{name}.json").read_text())


def metrics_with(answers: dict[str, dict], seen: list[str] | None = None, **kwargs):
    """A client whose Prometheus answers each query with the captured body for its metric."""

    def handler(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        if seen is not None:
            seen.append(query)
        for marker, body in answers.items():
            if marker in query:
                return httpx.Response(body.get("_status", 200), json=body)
        return httpx.Response(200, json=captured("query_empty"))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return PrometheusMetrics(BASE, client=client, **kwargs)


RECS_ANSWERS = {
    "model_request_latency_seconds_bucket": captured("query_latency_p95_recs"),
    "model_request_errors_total": captured("query_error_rate_recs"),
    "model_drift_score": captured("query_drift_recs"),
}


# -- PromQL safety -----------------------------------------------------------------------------
def test_adapter_satisfies_the_metrics_source_protocol():
    assert isinstance(PrometheusMetrics(BASE), MetricsSource)
    assert PrometheusMetrics(BASE).name == "prometheus"


@pytest.mark.parametrize(
    "name", [INJECTION, "", "a" * 129, "churn\n", "churn'", 'churn"', "churn{}", "ch urn", "c\\"]
)
def test_unsafe_model_names_are_refused(name: str):
    with pytest.raises(SourceDataError) as info:
        render_query(DEFAULT_QUERIES["drift"], name)
    assert info.value.fix


async def test_injection_attempt_never_reaches_prometheus():
    seen: list[str] = []
    metrics = metrics_with(RECS_ANSWERS, seen)
    with pytest.raises(SourceDataError) as info:
        await metrics.model_health(INJECTION)
    with pytest.raises(SourceDataError):
        now = datetime.now(UTC)
        await metrics.range(
            INJECTION, "drift", now - timedelta(minutes=5), now, timedelta(seconds=15)
        )
    assert seen == []
    assert "vector(1)" not in (info.value.fix or "")


@given(st.from_regex(MODEL_NAME, fullmatch=True))
def test_valid_names_only_fill_the_label_value(name: str):
    rendered = render_query("up{model=\"{model}\"} + up{model='{model}'}", name)
    assert rendered == f"up{{model=\"{name}\"}} + up{{model='{name}'}}"


# -- parsing captured answers ------------------------------------------------------------------
def test_instant_answers_parse_to_the_value_and_its_time():
    value, at = parse_instant(captured("query_latency_p95_recs"))
    assert value == pytest.approx(PROFILES["recs"].p95_seconds)
    assert at is not None and at.tzinfo is UTC


def test_empty_and_nan_answers_are_none_not_errors():
    assert parse_instant(captured("query_empty")) == (None, None)
    assert parse_instant(captured("query_nan")) == (None, None)


def test_several_series_count_as_the_worst_one():
    value, _ = parse_instant(captured("query_by_instance"))
    assert value == max(p.drift for p in PROFILES.values())


def test_range_answers_parse_to_ordered_points():
    points = parse_range(captured("query_range_latency_p95_churn"))
    assert len(points) >= 2
    assert [t for t, _ in points] == sorted(t for t, _ in points)
    assert all(v == pytest.approx(PROFILES["churn"].p95_seconds) for _, v in points)


async def test_health_of_a_slow_drifting_model_lists_each_problem():
    health = await metrics_with(RECS_ANSWERS).model_health("recs")
    assert health.latency_p95_ms == pytest.approx(PROFILES["recs"].p95_seconds * 1000)
    assert health.error_rate == pytest.approx(PROFILES["recs"].error_rate)
    assert health.drift == pytest.approx(PROFILES["recs"].drift)
    assert not health.healthy
    assert len(health.problems) == 3
    assert any("latency p95 900 ms" in p for p in health.problems)
    assert any("drift score 0.41" in p for p in health.problems)


async def test_thresholds_decide_what_counts_as_a_problem():
    lenient = HealthThresholds(latency_p95_ms=1000, error_rate=0.1, drift=0.5)
    health = await metrics_with(RECS_ANSWERS, thresholds=lenient).model_health("recs")
    assert health.healthy and health.problems == ()


async def test_model_without_data_has_no_values_and_no_problems():
    health = await metrics_with({}).model_health("ghost")
    assert (health.latency_p95_ms, health.error_rate, health.drift) == (None, None, None)
    assert health.problems == () and health.measured_at is None


async def test_queries_from_ops_yml_replace_the_defaults():
    seen: list[str] = []
    custom = {"drift": 'max(psi_score{deployment="{model}-prod"})'}
    await metrics_with({}, seen, queries=custom).model_health("churn")
    assert 'max(psi_score{deployment="churn-prod"})' in seen
    assert len(seen) == 3


def test_unknown_query_keys_are_a_configuration_error():
    with pytest.raises(ValueError, match="latency_p99"):
        PrometheusMetrics(BASE, queries={"latency_p99": "x"})


async def test_a_broken_query_names_the_metric_and_where_to_fix_it():
    bad = captured("error_bad_query")
    answers = {"model_drift_score": {**bad["body"], "_status": bad["status"]}}
    with pytest.raises(SourceDataError) as info:
        await metrics_with(answers).model_health("churn")
    assert "drift" in str(info.value) and "parse error" in str(info.value)
    assert "ops.yml" in (info.value.fix or "")


async def test_range_refuses_too_many_points_before_asking():
    seen: list[str] = []
    end = datetime.now(UTC)
    with pytest.raises(SourceDataError, match="step"):
        await metrics_with({}, seen).range(
            "churn", "drift", end - timedelta(days=30), end, timedelta(seconds=1)
        )
    assert seen == []


async def test_dead_prometheus_is_unavailable_and_probe_says_so():
    url = f"http://127.0.0.1:{free_port()}"
    metrics = PrometheusMetrics(url, timeout=2)
    with pytest.raises(SourceUnavailable) as info:
        await metrics.model_health("churn")
    assert str(info.value).startswith("prometheus:") and url in str(info.value)
    probe = await metrics.probe()
    assert probe.reachable is False and probe.fix


# -- the real Prometheus ----------------------------------------------------------------------
@pytest.mark.peers
async def test_live_churn_is_healthy_with_its_known_numbers(prometheus_server: PrometheusServer):
    health = await PrometheusMetrics(prometheus_server.url).model_health("churn")
    profile = PROFILES["churn"]
    assert health.latency_p95_ms == pytest.approx(profile.p95_seconds * 1000, rel=0.1)
    assert health.error_rate == pytest.approx(profile.error_rate, abs=0.003)
    assert health.drift == pytest.approx(profile.drift)
    assert health.healthy, health.problems
    assert health.measured_at is not None
    assert abs((datetime.now(UTC) - health.measured_at).total_seconds()) < 30


@pytest.mark.peers
async def test_live_recs_is_drifting_slow_and_failing(prometheus_server: PrometheusServer):
    health = await PrometheusMetrics(prometheus_server.url).model_health("recs")
    profile = PROFILES["recs"]
    assert health.latency_p95_ms == pytest.approx(profile.p95_seconds * 1000, rel=0.1)
    assert health.error_rate == pytest.approx(profile.error_rate, abs=0.01)
    assert health.drift == pytest.approx(profile.drift)
    assert not health.healthy
    assert [p.split()[0] for p in health.problems] == ["latency", "error", "drift"]


@pytest.mark.peers
async def test_live_fraud_has_zero_errors_not_missing_ones(prometheus_server: PrometheusServer):
    health = await PrometheusMetrics(prometheus_server.url).model_health("fraud")
    assert health.error_rate == 0.0
    assert health.healthy


@pytest.mark.peers
async def test_live_unknown_model_has_no_data(prometheus_server: PrometheusServer):
    health = await PrometheusMetrics(prometheus_server.url).model_health("ghost")
    assert (health.latency_p95_ms, health.error_rate, health.drift) == (None, None, None)


@pytest.mark.peers
async def test_live_range_gives_points_for_sparklines(prometheus_server: PrometheusServer):
    metrics = PrometheusMetrics(prometheus_server.url)
    end = datetime.now(UTC)
    drift = await metrics.range(
        "recs", "drift", end - timedelta(seconds=20), end, timedelta(seconds=1)
    )
    assert len(drift) >= 2
    assert all(v == pytest.approx(PROFILES["recs"].drift) for _, v in drift)
    latency = await metrics.range(
        "churn", "latency_p95", end - timedelta(seconds=20), end, timedelta(seconds=2)
    )
    assert latency and all(
        v == pytest.approx(PROFILES["churn"].p95_seconds * 1000, rel=0.15) for _, v in latency
    )


@pytest.mark.peers
async def test_live_injection_is_refused_and_prometheus_still_answers(
    prometheus_server: PrometheusServer,
):
    metrics = PrometheusMetrics(prometheus_server.url)
    with pytest.raises(SourceDataError):
        await metrics.model_health(INJECTION)
    probe = await metrics.probe()
    assert probe.reachable and "Prometheus 2." in probe.detail


@pytest.mark.peers
def test_live_alertmanager_becomes_ready(alertmanager_server: AlertmanagerServer):
    with httpx.Client(timeout=5) as client:
        assert client.get(f"{alertmanager_server.url}/-/ready").status_code == 200
        status = client.get(f"{alertmanager_server.url}/api/v2/status").json()
    assert status["cluster"]["status"] == "disabled"
    assert "switchboard" in status["config"]["original"]
    assert alertmanager_server.process.ready_seconds is not None


@pytest.mark.peers
async def test_live_answers_still_have_the_shape_of_the_captured_ones(
    prometheus_server: PrometheusServer,
):
    """If Prometheus changes its JSON, the parsing tests above are testing a stale capture."""
    async with httpx.AsyncClient(base_url=prometheus_server.url) as client:
        query = render_query(DEFAULT_QUERIES["drift"], "recs")
        live = (await client.get("/api/v1/query", params={"query": query})).json()
    stored = captured("query_drift_recs")
    assert live["status"] == stored["status"] == "success"
    assert live["data"]["resultType"] == stored["data"]["resultType"]
    assert set(live["data"]["result"][0]) == set(stored["data"]["result"][0])
    assert parse_instant(live)[0] == parse_instant(stored)[0]
