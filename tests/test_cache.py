"""The TTL cache and `cached_source`: single flight, expiry, no cached failures, invalidation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from integrations.cache import TTLCache, cached_source
from integrations.errors import SourceUnavailable
from integrations.models import (
    Model,
    ModelHealth,
    ModelVersion,
    Pipeline,
    PipelineRun,
    ProbeResult,
    RunState,
    SpendQuery,
    SpendSummary,
)
from integrations.protocols import CostSource, MetricsSource, ModelRegistry, PipelineSource


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingLoader:
    def __init__(self, value: object = "v", delay: float = 0.0) -> None:
        self.calls = 0
        self.value = value
        self.delay = delay

    async def __call__(self) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return f"{self.value}{self.calls}"


class FakeRegistry:
    """A ModelRegistry that counts calls and lets tests change what it answers."""

    name = "fake_registry"

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.aliases = {"champion": "1"}
        self.probes = 0

    def _count(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1

    async def probe(self) -> ProbeResult:
        self.probes += 1
        return ProbeResult(source=self.name, reachable=True)

    async def list_models(self) -> list[Model]:
        self._count("list_models")
        return [Model(name="churn", source=self.name, aliases=dict(self.aliases))]

    async def get_model(self, name: str) -> Model | None:
        self._count("get_model")
        if name != "churn":
            return None
        return Model(name=name, source=self.name, aliases=dict(self.aliases))

    async def versions(self, name: str) -> list[ModelVersion]:
        self._count("versions")
        return [ModelVersion(model=name, version="2"), ModelVersion(model=name, version="1")]

    async def set_alias(self, name: str, alias: str, version: str) -> None:
        self._count("set_alias")
        self.aliases[alias] = version


class FakePipelines:
    name = "fake_pipelines"

    def __init__(self) -> None:
        self.calls = 0

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)

    async def list_pipelines(self) -> list[Pipeline]:
        self.calls += 1
        return [Pipeline(name="nightly_orders", source=self.name)]

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        self.calls += 1
        return [
            PipelineRun(pipeline=pipeline, run_id=str(i), state=RunState.success)
            for i in range(limit)
        ]

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        self.calls += 1
        return []


async def test_concurrent_loads_of_one_key_make_one_upstream_call() -> None:
    cache: TTLCache[object] = TTLCache(ttl=60)
    loader = CountingLoader(delay=0.05)
    values = await asyncio.gather(*(cache.get_or_load("k", loader) for _ in range(10)))
    assert loader.calls == 1
    assert values == ["v1"] * 10


async def test_value_expires_after_ttl_on_the_injected_clock() -> None:
    clock = FakeClock()
    cache: TTLCache[object] = TTLCache(ttl=30, clock=clock)
    loader = CountingLoader()
    assert await cache.get_or_load("k", loader) == "v1"
    clock.now += 29.9
    assert await cache.get_or_load("k", loader) == "v1"
    clock.now += 0.2
    assert await cache.get_or_load("k", loader) == "v2"
    assert loader.calls == 2


async def test_exceptions_are_not_cached() -> None:
    cache: TTLCache[object] = TTLCache(ttl=60)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise SourceUnavailable("mlflow", "down")
        return "recovered"

    with pytest.raises(SourceUnavailable):
        await cache.get_or_load("k", flaky)
    assert len(cache) == 0
    assert await cache.get_or_load("k", flaky) == "recovered"
    assert attempts == 2


async def test_all_concurrent_waiters_see_the_failure_of_the_shared_load() -> None:
    cache: TTLCache[object] = TTLCache(ttl=60)
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise SourceUnavailable("prom", "down")

    outcomes = await asyncio.gather(
        *(cache.get_or_load("k", failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(o, SourceUnavailable) for o in outcomes)


async def test_least_recently_used_key_is_evicted_beyond_maxsize() -> None:
    cache: TTLCache[object] = TTLCache(ttl=60, maxsize=2)
    loaders = {k: CountingLoader(k) for k in "abc"}
    await cache.get_or_load("a", loaders["a"])
    await cache.get_or_load("b", loaders["b"])
    await cache.get_or_load("a", loaders["a"])  # a is now more recent than b
    await cache.get_or_load("c", loaders["c"])
    assert len(cache) == 2
    await cache.get_or_load("a", loaders["a"])
    await cache.get_or_load("b", loaders["b"])
    assert loaders["a"].calls == 1
    assert loaders["b"].calls == 2


async def test_a_cancelled_waiter_does_not_cancel_the_load_others_wait_for() -> None:
    cache: TTLCache[object] = TTLCache(ttl=60)
    loader = CountingLoader(delay=0.05)
    impatient = asyncio.create_task(cache.get_or_load("k", loader))
    patient = asyncio.create_task(cache.get_or_load("k", loader))
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == "v1"
    assert impatient.cancelled()
    assert loader.calls == 1


async def test_cached_source_keeps_the_protocols_of_the_adapter_and_no_others() -> None:
    registry = cached_source(FakeRegistry(), ttl=30)
    pipelines = cached_source(FakePipelines(), ttl=30)
    assert isinstance(registry, ModelRegistry)
    assert not isinstance(registry, PipelineSource)
    assert isinstance(pipelines, PipelineSource)
    assert not isinstance(pipelines, ModelRegistry | MetricsSource | CostSource)
    assert registry.name == "fake_registry"


async def test_cached_source_serves_reads_from_cache_with_defaults_in_the_key() -> None:
    inner = FakePipelines()
    cached = cached_source(inner, ttl=30)
    first = await cached.recent_runs("nightly_orders")
    again = await cached.recent_runs("nightly_orders", limit=20)
    fewer = await cached.recent_runs("nightly_orders", limit=3)
    assert inner.calls == 2
    assert len(first) == len(again) == 20
    assert len(fewer) == 3


async def test_callers_mutating_a_cached_list_do_not_change_the_next_answer() -> None:
    cached = cached_source(FakePipelines(), ttl=30)
    runs = await cached.recent_runs("nightly_orders", limit=2)
    runs.clear()
    assert len(await cached.recent_runs("nightly_orders", limit=2)) == 2


async def test_probe_always_reaches_the_peer() -> None:
    inner = FakeRegistry()
    cached = cached_source(inner, ttl=30)
    await cached.probe()
    await cached.probe()
    assert inner.probes == 2


async def test_set_alias_reaches_the_registry_and_invalidates_that_model() -> None:
    inner = FakeRegistry()
    cached = cached_source(inner, ttl=300)
    before = await cached.get_model("churn")
    await cached.list_models()
    await cached.versions("churn")
    assert before is not None and before.aliases == {"champion": "1"}

    await cached.set_alias("churn", "champion", "2")
    after = await cached.get_model("churn")
    listed = await cached.list_models()
    await cached.versions("churn")

    assert inner.calls["set_alias"] == 1
    assert after is not None and after.aliases == {"champion": "2"}
    assert listed[0].aliases == {"champion": "2"}
    assert inner.calls == {"get_model": 2, "list_models": 2, "versions": 2, "set_alias": 1}


async def test_set_alias_leaves_other_models_cached() -> None:
    inner = FakeRegistry()
    cached = cached_source(inner, ttl=300)
    await cached.get_model("fraud")
    await cached.set_alias("churn", "champion", "2")
    await cached.get_model("fraud")
    assert inner.calls["get_model"] == 1


async def test_cached_cost_and_metrics_sources_key_on_their_arguments() -> None:
    class Costs:
        name = "costs"
        calls = 0

        async def probe(self) -> ProbeResult:
            return ProbeResult(source=self.name, reachable=True)

        async def spend(self, query: SpendQuery) -> SpendSummary:
            Costs.calls += 1
            return SpendSummary(query=query)

        async def model_health(self, model: str) -> ModelHealth:
            Costs.calls += 1
            return ModelHealth(model=model)

    cached = cached_source(Costs(), ttl=30)
    assert isinstance(cached, CostSource) and isinstance(cached, MetricsSource)
    day = datetime(2026, 11, 1, tzinfo=UTC).date()
    q1 = SpendQuery(start=day, end=day.replace(day=2), team="ml")
    q2 = SpendQuery(start=day, end=day.replace(day=2), team="data")
    await cached.spend(q1)
    await cached.spend(SpendQuery(start=day, end=day.replace(day=2), team="ml"))
    await cached.spend(q2)
    await cached.model_health("churn")
    await cached.model_health("churn")
    assert Costs.calls == 3
