"""Pipeline and model detectors on small fake sources: ops.yml's SLA and thresholds decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.detectors.models import DRIFT, ERROR_RATE, LATENCY, over_threshold
from bot.incidents.detectors.pipelines import pipeline_failures, pipeline_sla_misses
from integrations.hub import Sources
from integrations.models import (
    Model,
    ModelHealth,
    Pipeline,
    PipelineRun,
    ProbeResult,
    RunState,
)
from tests.incidents.detectors.conftest import deps_for, example_config

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FakeOrchestrator:
    name = "fakeflow"

    def __init__(self, pipelines: list[Pipeline], runs: list[PipelineRun]) -> None:
        self.pipelines, self.runs = pipelines, runs

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)

    async def list_pipelines(self) -> list[Pipeline]:
        return self.pipelines

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        return [r for r in self.runs if r.pipeline == pipeline][:limit]

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        return [r for r in self.runs if r.started_at and r.started_at >= since]


def run(name: str, state: RunState, at: datetime, **kw: object) -> PipelineRun:
    return PipelineRun(
        pipeline=name,
        run_id=f"{name}-{at:%d%H}",
        state=state,
        started_at=at,
        ended_at=at + timedelta(minutes=10),
        scheduled_for=at,
        **kw,  # type: ignore[arg-type]
    )


def orders(*runs: PipelineRun, sla: timedelta | None = None) -> FakeOrchestrator:
    pipeline = Pipeline(name="orders", source="fakeflow", schedule="0 6 * * *", sla=sla)
    return FakeOrchestrator([pipeline], list(runs))


async def test_a_failed_latest_run_fires_and_a_later_success_clears_it():
    today_6 = NOW.replace(hour=6)
    failed = run("orders", RunState.failed, today_6, failed_task="load", error="disk full")
    config = example_config()
    found = await pipeline_failures(deps_for(Sources(pipelines=[orders(failed)]), config, NOW))
    (event,) = found.firing
    assert event.dedup_key == "pipeline:orders:failed"
    assert "at task load: disk full" in event.summary
    fixed = run("orders", RunState.success, today_6 + timedelta(hours=1))
    found = await pipeline_failures(
        deps_for(Sources(pipelines=[orders(fixed, failed)]), config, NOW)
    )
    assert found.firing == () and found.complete


async def test_the_sla_of_ops_yml_overrides_the_orchestrators_and_the_default_fills_in():
    yesterday = run("orders", RunState.success, NOW.replace(hour=6) - timedelta(days=1))
    source = Sources(pipelines=[orders(yesterday, sla=timedelta(hours=8))])
    # Today's 06:00 run has not succeeded; at 12:00 an 8 h SLA is not missed yet ...
    found = await pipeline_sla_misses(deps_for(source, example_config(), NOW))
    assert found.firing == ()
    # ... a 4 h one in ops.yml is.
    config = example_config(detectors={"pipeline_sla": {"pipelines": {"orders": "4h"}}})
    (event,) = (await pipeline_sla_misses(deps_for(source, config, NOW))).firing
    assert event.dedup_key == "pipeline:orders:sla"
    assert "No successful run by 2026-11-23 10:00 UTC (an SLA of 4h)" in event.summary
    # Without an SLA anywhere the run is due by the next slot (tomorrow 06:00) ...
    bare = Sources(pipelines=[orders(yesterday)])
    assert (await pipeline_sla_misses(deps_for(bare, example_config(), NOW))).firing == ()
    # ... unless ops.yml gives a default.
    config = example_config(detectors={"pipeline_sla": {"default": "2h"}})
    assert len((await pipeline_sla_misses(deps_for(bare, config, NOW))).firing) == 1


class FakeModels:
    name = "fakemodels"

    def __init__(self, health: dict[str, ModelHealth]) -> None:
        self.health = health

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)

    async def list_models(self) -> list[Model]:
        return [Model(name=n, source=self.name) for n in self.health]

    async def get_model(self, name: str) -> Model | None:
        return Model(name=name, source=self.name) if name in self.health else None

    async def model_health(self, model: str) -> ModelHealth:
        return self.health[model]


async def test_model_metrics_fire_only_above_the_ops_yml_thresholds():
    fake = FakeModels(
        {
            "churn": ModelHealth(model="churn", latency_p95_ms=90, error_rate=0.2, drift=0.31),
            "fraud": ModelHealth(model="fraud", latency_p95_ms=700, error_rate=0.01, drift=0.1),
            "batch": ModelHealth(model="batch"),  # no serving metrics: nothing to judge
        }
    )
    sources = Sources(registries=[fake], metrics=[fake])
    config = example_config(
        detectors={"model_drift": {"threshold": 0.3}, "model_error_rate": {"threshold": 0.1}}
    )
    deps = deps_for(sources, config, NOW)
    assert [e.dedup_key for e in (await over_threshold(DRIFT)(deps)).firing] == [
        "model:churn:drift"
    ]
    assert [e.dedup_key for e in (await over_threshold(LATENCY)(deps)).firing] == [
        "model:fraud:latency"
    ]
    (errors,) = (await over_threshold(ERROR_RATE)(deps)).firing
    assert errors.dedup_key == "model:churn:error_rate"
    assert errors.title == "churn error rate 20.0% is above 10.0%"
    raised = example_config(detectors={"model_drift": {"threshold": 0.35}})
    assert (await over_threshold(DRIFT)(deps_for(sources, raised, NOW))).firing == ()


class DownModels(FakeModels):
    async def model_health(self, model: str) -> ModelHealth:
        raise TimeoutError


async def test_a_metrics_source_that_does_not_answer_makes_the_findings_incomplete():
    fake = DownModels({"churn": ModelHealth(model="churn")})
    sources = Sources(registries=[fake], metrics=[fake], timeout=1)
    found = await over_threshold(DRIFT)(deps_for(sources, example_config(), NOW))
    assert not found.complete and found.firing == ()
