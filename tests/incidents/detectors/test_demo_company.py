"""Each detector on the demo company (ops.example.yml, DEMO_NOW): what it finds follows from the
demo's script (integrations/demo/catalog.py), not from a list copied out of the output."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertStatus, Severity, SubjectKind
from bot.incidents.detectors import build_detectors, check_deadman
from bot.incidents.detectors.models import DRIFT, LATENCY, over_threshold
from bot.incidents.detectors.pipelines import pipeline_failures, pipeline_sla_misses
from bot.incidents.detectors.spend import budget_breaches, spend_anomalies
from bot.services import Services
from integrations.demo.catalog import (
    BUDGETS,
    DRIFTING,
    FAILING,
    LATE,
    MODELS,
    SERVING_SURGE,
)
from scheduler.detector_jobs import detector_jobs
from tests.incidents.detectors.conftest import RecordingSink


async def test_pipeline_failure_finds_every_pipeline_the_demo_fails(demo_deps: AnswerDeps):
    found = await pipeline_failures(demo_deps)
    assert found.complete
    by_key = {e.dedup_key: e for e in found.firing}
    assert set(by_key) == {f"pipeline:{name}:failed" for name in FAILING}
    event = by_key["pipeline:nightly_orders:failed"]
    task, error, _runs = FAILING["nightly_orders"]
    assert event.status is AlertStatus.firing and event.severity is Severity.error
    assert event.source == "detector:pipeline_failure"
    assert (event.subject.kind, event.subject.name) == (SubjectKind.pipeline, "nightly_orders")
    assert f"at task {task}" in event.summary and error in event.summary
    assert event.labels["team"] == demo_deps.config.team_of_pipeline("nightly_orders")
    assert {link.title for link in event.links} >= {"Log"}
    assert event.starts_at is not None and event.starts_at < demo_deps.now


async def test_pipeline_sla_finds_the_late_pipeline_and_leaves_failing_ones_to_the_failure_detector(
    demo_deps: AnswerDeps,
):
    found = await pipeline_sla_misses(demo_deps)
    keys = {e.dedup_key for e in found.firing}
    assert f"pipeline:{LATE}:sla" in keys
    assert not keys & {f"pipeline:{name}:sla" for name in FAILING}
    (late,) = [e for e in found.firing if e.dedup_key == f"pipeline:{LATE}:sla"]
    assert "No successful run by" in late.summary and late.subject.name == LATE
    without = demo_deps.config.model_copy(deep=True)
    without.incidents.detectors.pipeline_failure = False
    alone = await pipeline_sla_misses(replace(demo_deps, config=without))
    assert {f"pipeline:{name}:sla" for name in FAILING} <= {e.dedup_key for e in alone.firing}


async def test_model_detectors_fire_for_the_models_over_the_example_thresholds(
    demo_deps: AnswerDeps,
):
    thresholds = demo_deps.config.incidents.detectors
    drift = await over_threshold(DRIFT)(demo_deps)
    latency = await over_threshold(LATENCY)(demo_deps)
    # The demo's health varies a few percent around each spec; these are clear of the edge.
    drifting = {
        m.name
        for m in MODELS
        if DRIFTING.get(m.name, m.drift) * 0.97 > thresholds.model_drift.threshold
    }
    slow = {
        m.name
        for m in MODELS
        if m.latency_ms and m.latency_ms * 0.97 > thresholds.model_latency.p95_ms
    }
    assert drifting and slow
    assert {e.dedup_key for e in drift.firing} >= {f"model:{m}:drift" for m in drifting}
    assert {e.dedup_key for e in latency.firing} >= {f"model:{m}:latency" for m in slow}
    for event in drift.firing:
        assert event.subject.kind is SubjectKind.model
        assert f"above {thresholds.model_drift.threshold:.2f}" in event.title


async def test_budget_breach_forecasts_the_team_the_recs_gpu_jump_puts_over_budget(
    demo_deps: AnswerDeps,
):
    found = await budget_breaches(demo_deps)
    by_key = {e.dedup_key: e for e in found.firing}
    assert "budget:team:ml-platform:forecast" in by_key
    event = by_key["budget:team:ml-platform:forecast"]
    monthly = BUDGETS["ml-platform"][0]
    assert f"${monthly:,.0f}" in event.title and "forecast" in event.summary
    assert event.subject.kind is SubjectKind.team and event.labels == {"team": "ml-platform"}


async def test_every_enabled_detector_runs_on_the_demo_without_source_problems(
    demo_deps: AnswerDeps,
):
    detectors = build_detectors(demo_deps.config)
    assert {d.name for d in detectors} == {
        "pipeline_failure",
        "pipeline_sla",
        "model_latency",
        "model_error_rate",
        "model_drift",
        "budget_breach",
        "spend_anomaly",
    }
    for detector in detectors:
        found = await detector.run(demo_deps)
        assert found.complete, (detector.name, found.problems)
        assert all(e.source == detector.source for e in found.firing)
        assert len({e.dedup_key for e in found.firing}) == len(found.firing)


async def test_the_demo_cascade_is_found_by_the_detectors_alone(demo_deps: AnswerDeps):
    """nightly_orders fails → churn, which it feeds, drifts → churn's serving spend jumps."""
    assert "churn" in demo_deps.config.models_fed_by("nightly_orders")
    failures = {e.dedup_key: e for e in (await pipeline_failures(demo_deps)).firing}
    drift = {e.dedup_key: e for e in (await over_threshold(DRIFT)(demo_deps)).firing}
    spend = await spend_anomalies(demo_deps)
    assert spend.complete
    assert "pipeline:nightly_orders:failed" in failures
    assert {f"model:{m}:drift" for m in DRIFTING} <= set(drift)
    by_key = {e.dedup_key: e for e in spend.firing}
    assert set(by_key) == {f"spend:model:{m}:anomaly" for m in SERVING_SURGE}
    churn = by_key["spend:model:churn:anomaly"]
    assert (churn.subject.kind, churn.subject.name) == (SubjectKind.service, "churn")
    assert churn.labels == {"model": "churn", "team": "ml-platform"}
    assert "churn's serving" in churn.title
    # The surge added SERVING_SURGE a day to a serving of tens of dollars: both rules see it.
    assert "vs the day before" in churn.summary and "σ above the 28-day mean" in churn.summary
    increase = Decimal(churn.summary.split("+$", 1)[1].split(" ", 1)[0].replace(",", ""))
    assert abs(increase - Decimal(str(SERVING_SURGE["churn"]))) < Decimal(60)


async def test_the_demo_findings_are_announced_once_by_the_jobs_of_the_demo_services(
    demo_services: Services, sink: RecordingSink
):
    jobs = detector_jobs(demo_services, sink, replica_id="solo")
    assert jobs is not None
    first = [e for d in jobs.detectors for e in await jobs.runner.run(d)]
    assert "pipeline:nightly_orders:failed" in {e.dedup_key for e in first}
    assert "model:churn:drift" in {e.dedup_key for e in first}
    assert "spend:model:churn:anomaly" in {e.dedup_key for e in first}
    assert all(e.status is AlertStatus.firing for e in first)
    again = [e for d in jobs.detectors for e in await jobs.runner.run(d)]
    assert again == []  # nothing changed on the demo: nothing to say
    assert sink.events == first
    # Every detector had a good run: the dead-man's switch has nothing to say either.
    assert await check_deadman(jobs.runner, jobs.config, jobs.detectors) == []
