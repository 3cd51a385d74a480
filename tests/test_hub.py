"""Fan-out across sources: concurrent, per-source timeouts, partial answers, no leaked secrets."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

import pytest

from integrations.errors import SourceAuthError, SourceUnavailable
from integrations.hub import Sources, gather_partial
from integrations.models import (
    Model,
    ModelHealth,
    Pipeline,
    PipelineRun,
    ProbeResult,
    RunState,
    SpendLine,
    SpendQuery,
    SpendSummary,
)

# Every source here is a fake whose latency is an asyncio.sleep: on looptime's fake event-loop
# clock these take exactly the time they say and no real time, so durations are asserted exactly.
pytestmark = pytest.mark.looptime

LATENCY = 0.3
SECRET = "xoxb-1234567890-SuperSecretToken"


def now() -> float:
    """The event loop's clock (looptime's, see pytestmark)."""
    return asyncio.get_running_loop().time()


class FakeOrchestrator:
    """PipelineSource with fixed latency; `fail` makes every call raise it."""

    def __init__(
        self,
        name: str,
        pipelines: list[str],
        *,
        latency: float = LATENCY,
        fail: BaseException | None = None,
    ) -> None:
        self.name = name
        self.latency = latency
        self.fail = fail
        self._pipelines = pipelines
        self.runs_asked: list[tuple[str, int]] = []

    async def _wait(self) -> None:
        await asyncio.sleep(self.latency)
        if self.fail is not None:
            raise self.fail

    async def probe(self) -> ProbeResult:
        await self._wait()
        return ProbeResult(source=self.name, reachable=True, authenticated=True)

    async def list_pipelines(self) -> list[Pipeline]:
        await self._wait()
        return [Pipeline(name=p, source=self.name) for p in self._pipelines]

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        await self._wait()
        self.runs_asked.append((pipeline, limit))
        return [PipelineRun(pipeline=pipeline, run_id=f"{self.name}-1", state=RunState.failed)]

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        await self._wait()
        return []


class FakeRegistry:
    def __init__(
        self, name: str, models: dict[str, dict[str, str]], *, fail: BaseException | None = None
    ) -> None:
        self.name = name
        self.models = models
        self.fail = fail

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)

    async def list_models(self) -> list[Model]:
        if self.fail:
            raise self.fail
        return [Model(name=n, source=self.name, aliases=a) for n, a in self.models.items()]

    async def get_model(self, name: str) -> Model | None:
        if self.fail:
            raise self.fail
        aliases = self.models.get(name)
        return None if aliases is None else Model(name=name, source=self.name, aliases=aliases)

    async def versions(self, name: str) -> list:  # pragma: no cover - not used here
        return []

    async def set_alias(self, name: str, alias: str, version: str) -> None:  # pragma: no cover
        return None


class FakeMetrics:
    def __init__(self, name: str, health: ModelHealth) -> None:
        self.name = name
        self.health = health

    async def probe(self) -> ProbeResult:
        raise RuntimeError(f"connect to http://admin:{SECRET}@prom:9090 refused")

    async def model_health(self, model: str) -> ModelHealth:
        return self.health.model_copy(update={"model": model})


class FakeCosts:
    def __init__(self, name: str, lines: dict[str, str], *, latency: float = 0.0) -> None:
        self.name = name
        self.lines = lines
        self.latency = latency

    async def probe(self) -> ProbeResult:
        await asyncio.sleep(self.latency)
        return ProbeResult(source=self.name, reachable=True)

    async def spend(self, query: SpendQuery) -> SpendSummary:
        await asyncio.sleep(self.latency)
        lines = tuple(
            SpendLine(key=k, cost=Decimal(v), currency="USD") for k, v in self.lines.items()
        )
        total = sum((line.cost for line in lines), Decimal(0))
        return SpendSummary(
            query=query,
            lines=lines,
            totals={"USD": total},
            daily=((query.start, "USD", total),),
            rows_scanned=len(lines),
        )


def sleeper(value: str, seconds: float):
    async def call() -> str:
        await asyncio.sleep(seconds)
        return value

    return call


async def test_four_slow_sources_answer_in_about_the_time_of_one() -> None:
    calls = {f"source{i}": sleeper(f"answer{i}", LATENCY) for i in range(4)}
    started = now()
    results, problems = await gather_partial(calls, timeout=2.0)
    elapsed = now() - started
    assert results == {f"source{i}": f"answer{i}" for i in range(4)}
    assert problems == ()
    assert elapsed == pytest.approx(LATENCY), f"took {elapsed:.2f}s: calls ran one after another"


async def test_sources_fan_out_to_four_orchestrators_concurrently() -> None:
    sources = Sources(
        pipelines=[FakeOrchestrator(f"orch{i}", [f"p{i}"]) for i in range(4)], timeout=2.0
    )
    started = now()
    answer = await sources.all_pipelines()
    elapsed = now() - started
    assert [p.name for p in answer.value] == ["p0", "p1", "p2", "p3"]
    assert not answer.partial
    assert elapsed == pytest.approx(LATENCY), f"took {elapsed:.2f}s: asked one after another"


async def test_unavailable_source_gives_a_partial_answer_with_the_rest_intact() -> None:
    sources = Sources(
        pipelines=[
            FakeOrchestrator("airflow", ["nightly_orders"], latency=0.01),
            FakeOrchestrator(
                "prefect",
                ["x"],
                latency=0.01,
                fail=SourceUnavailable(
                    "prefect", "cannot connect to prefect:4200", "check the URL"
                ),
            ),
            FakeOrchestrator("dagster", ["features_daily"], latency=0.01),
        ]
    )
    answer = await sources.all_pipelines()
    assert [(p.name, p.source) for p in answer.value] == [
        ("features_daily", "dagster"),
        ("nightly_orders", "airflow"),
    ]
    assert answer.partial
    assert len(answer.problems) == 1
    assert answer.problems[0].source == "prefect"
    assert "cannot connect to prefect:4200" in answer.problems[0].reason
    assert "check the URL" in answer.problems[0].reason


async def test_hanging_source_becomes_a_timed_out_problem_after_its_timeout() -> None:
    started = now()
    results, problems = await gather_partial(
        {"fast": sleeper("ok", 0.01), "hung": sleeper("never", 60)}, timeout=0.2
    )
    elapsed = now() - started
    assert results == {"fast": "ok"}
    assert [(p.source, p.reason) for p in problems] == [("hung", "timed out after 0.2 s")]
    assert elapsed == pytest.approx(0.2)


async def test_timeout_reason_names_the_configured_seconds() -> None:
    _results, problems = await gather_partial({"slow": sleeper("x", 5)}, timeout=0.05)
    assert problems[0].reason == "timed out after 0.05 s"


async def test_secret_in_an_unexpected_exception_never_reaches_the_problem() -> None:
    async def leaky() -> str:
        raise RuntimeError(f"GET https://api?token={SECRET} failed with Authorization: {SECRET}")

    results, problems = await gather_partial(
        {"leaky": leaky, "ok": sleeper("fine", 0)}, timeout=1.0
    )
    assert results == {"ok": "fine"}
    assert problems[0].source == "leaky"
    assert problems[0].reason == "unexpected error: RuntimeError"
    assert SECRET not in problems[0].reason


async def test_source_error_reason_is_redacted_too() -> None:
    async def auth() -> str:
        raise SourceAuthError(
            "airflow", f"rejected http://bot:{SECRET}@airflow:8080/api", "set AIRFLOW_TOKEN"
        )

    _results, problems = await gather_partial({"airflow": auth}, timeout=1.0)
    assert SECRET not in problems[0].reason
    assert "set AIRFLOW_TOKEN" in problems[0].reason


async def test_cancelling_the_caller_cancels_every_call() -> None:
    cancelled: list[str] = []

    def watched(name: str):
        async def call() -> str:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return name

        return call

    task = asyncio.create_task(gather_partial({"a": watched("a"), "b": watched("b")}, timeout=30))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == ["a", "b"]


async def test_recent_runs_asks_only_the_source_that_owns_the_pipeline() -> None:
    airflow = FakeOrchestrator("airflow", ["nightly_orders"], latency=0.01)
    dagster = FakeOrchestrator("dagster", ["features_daily"], latency=0.01)
    sources = Sources(pipelines=[airflow, dagster])
    answer = await sources.recent_runs("features_daily", limit=5)
    assert [r.run_id for r in answer.value] == ["dagster-1"]
    assert dagster.runs_asked == [("features_daily", 5)]
    assert airflow.runs_asked == []


async def test_find_pipeline_falls_back_to_a_case_insensitive_match() -> None:
    sources = Sources(pipelines=[FakeOrchestrator("airflow", ["Nightly_Orders"], latency=0)])
    assert (await sources.find_pipeline("nightly_orders")).value is not None
    assert (await sources.find_pipeline("unknown")).value is None


async def test_unknown_pipeline_has_no_runs_and_keeps_lookup_problems() -> None:
    sources = Sources(
        pipelines=[
            FakeOrchestrator("airflow", ["a"], latency=0),
            FakeOrchestrator("prefect", [], latency=0, fail=SourceUnavailable("prefect", "down")),
        ]
    )
    answer = await sources.recent_runs("missing")
    assert answer.value == []
    assert [p.source for p in answer.problems] == ["prefect"]


async def test_model_comes_from_the_first_registry_that_has_it() -> None:
    sources = Sources(
        registries=[
            FakeRegistry("mlflow_eu", {"fraud": {}}),
            FakeRegistry("mlflow_us", {"churn": {"champion": "14"}}),
            FakeRegistry("broken", {}, fail=SourceUnavailable("broken", "down")),
        ]
    )
    answer = await sources.model("churn")
    assert answer.value is not None and answer.value.source == "mlflow_us"
    assert [p.source for p in answer.problems] == ["broken"]
    models = await sources.all_models()
    assert [m.name for m in models.value] == ["churn", "fraud"]


async def test_model_health_merges_sources_with_earlier_ones_winning() -> None:
    sources = Sources(
        metrics=[
            FakeMetrics(
                "prometheus",
                ModelHealth(
                    model="x", latency_p95_ms=120.0, problems=("latency p95 above 100 ms",)
                ),
            ),
            FakeMetrics(
                "evidently",
                ModelHealth(
                    model="x", latency_p95_ms=999.0, drift=0.4, problems=("drift 0.4 above 0.3",)
                ),
            ),
        ]
    )
    health = (await sources.model_health("churn")).value
    assert health is not None
    assert (health.model, health.latency_p95_ms, health.drift) == ("churn", 120.0, 0.4)
    assert health.problems == ("latency p95 above 100 ms", "drift 0.4 above 0.3")


async def test_spend_sums_cost_sources_and_marks_a_slow_one() -> None:
    query = SpendQuery(start=date(2026, 11, 1), end=date(2026, 11, 8))
    sources = Sources(
        costs=[
            FakeCosts("aws", {"compute": "100.50", "storage": "10"}),
            FakeCosts("gcp", {"compute": "20", "bigquery": "300"}),
            FakeCosts("azure", {"vm": "1"}, latency=5),
        ],
        timeout=0.2,
    )
    answer = await sources.spend(query)
    assert [(line.key, line.cost) for line in answer.value.lines] == [
        ("bigquery", Decimal("300")),
        ("compute", Decimal("120.50")),
        ("storage", Decimal("10")),
    ]
    assert answer.value.totals == {"USD": Decimal("430.50")}
    assert answer.value.daily == ((date(2026, 11, 1), "USD", Decimal("430.50")),)
    assert [(p.source, p.reason) for p in answer.problems] == [("azure", "timed out after 0.2 s")]


async def test_probe_all_reports_every_adapter_once_and_never_raises() -> None:
    airflow = FakeOrchestrator("airflow", [], latency=0.01)
    hung = FakeCosts("aws", {}, latency=60)
    both = FakeRegistry("mlflow", {})
    sources = Sources(
        pipelines=[airflow],
        registries=[both],
        metrics=[FakeMetrics("prometheus", ModelHealth(model="x"))],
        costs=[hung],
        timeout=0.2,
    )
    sources.costs["mlflow"] = both  # the same adapter in two roles is probed once
    started = now()
    results = {r.source: r for r in await sources.probe_all()}
    assert now() - started == pytest.approx(0.2)  # the hung one's timeout, all probed at once
    assert sorted(results) == ["airflow", "aws", "mlflow", "prometheus"]
    assert results["airflow"].reachable and results["mlflow"].reachable
    assert not results["aws"].reachable
    assert "timed out after 0.2 s" in results["aws"].detail
    assert not results["prometheus"].reachable
    assert "RuntimeError" in results["prometheus"].detail
    assert SECRET not in results["prometheus"].detail
