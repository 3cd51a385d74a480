"""Fan-out to every configured source at once; slow or failing sources degrade, never break.

Every answer that needs more than one source goes through `gather_partial` (directly or via
`Sources`): calls run concurrently, each under its own timeout, and the caller gets whatever
arrived plus one `SourceProblem` per source that did not, to show as "partial" in Slack.
`Sources.probe_all` is what `switchboard check-sources` prints.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import structlog

from integrations.errors import SourceError
from integrations.http import redact
from integrations.models import (
    CostCoverage,
    Model,
    ModelHealth,
    Partial,
    Pipeline,
    PipelineRun,
    ProbeResult,
    SourceProblem,
    SpendLine,
    SpendQuery,
    SpendSummary,
)
from integrations.protocols import CostSource, MetricsSource, ModelRegistry, PipelineSource

log = structlog.get_logger(__name__)

T = TypeVar("T")
A = TypeVar("A")
Problems = tuple[SourceProblem, ...]

DEFAULT_TIMEOUT = 5.0


def _seconds(timeout: float) -> str:
    return f"{float(timeout)} s"


async def _one(name: str, call: Callable[[], Awaitable[T]], timeout: float) -> T | SourceProblem:
    try:
        async with asyncio.timeout(timeout):
            return await call()
    except TimeoutError:
        return SourceProblem(source=name, reason=f"timed out after {_seconds(timeout)}")
    except SourceError as exc:
        reason = f"{exc.message} — fix: {exc.fix}" if exc.fix else exc.message
        return SourceProblem(source=name, reason=redact(reason))
    except Exception as exc:
        # The raw message may carry a token or a URL with credentials: users get the type only,
        # the log gets a redacted message.
        log.error(
            "source_call_crashed",
            source=name,
            error_type=type(exc).__name__,
            error=redact(str(exc))[:500],
        )
        return SourceProblem(source=name, reason=f"unexpected error: {type(exc).__name__}")


async def gather_partial(
    calls: Mapping[str, Callable[[], Awaitable[T]]], *, timeout: float
) -> tuple[dict[str, T], tuple[SourceProblem, ...]]:
    """Run every call concurrently, each within `timeout` seconds.

    Returns the results that arrived (by the caller's key) and a problem per key that failed
    or timed out, in the order of `calls`. Never raises for a source failure; cancelling the
    caller cancels every call.
    """
    names = list(calls)
    outcomes = await asyncio.gather(*(_one(n, calls[n], timeout) for n in names))
    results: dict[str, T] = {}
    problems: list[SourceProblem] = []
    for name, outcome in zip(names, outcomes, strict=True):
        if isinstance(outcome, SourceProblem):
            problems.append(outcome)
        else:
            results[name] = outcome
    return results, tuple(problems)


def _keyed(adapters: Sequence[A]) -> dict[str, A]:
    """Adapters by name; a second adapter with the same name (two Airflows) gets '#2'."""
    keyed: dict[str, A] = {}
    for adapter in adapters:
        name = str(getattr(adapter, "name", type(adapter).__name__))
        key, n = name, 1
        while key in keyed:
            n += 1
            key = f"{name}#{n}"
        keyed[key] = adapter
    return keyed


class Sources:
    """Every configured adapter, grouped by what it answers; methods fan out and merge."""

    def __init__(
        self,
        *,
        pipelines: Sequence[PipelineSource] = (),
        registries: Sequence[ModelRegistry] = (),
        metrics: Sequence[MetricsSource] = (),
        costs: Sequence[CostSource] = (),
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.pipelines = _keyed(pipelines)
        self.registries = _keyed(registries)
        self.metrics = _keyed(metrics)
        self.costs = _keyed(costs)
        self.timeout = timeout

    # -- pipelines ---------------------------------------------------------------------------
    async def _pipelines_by_source(self) -> tuple[dict[str, list[Pipeline]], Problems]:
        return await gather_partial(
            {key: src.list_pipelines for key, src in self.pipelines.items()}, timeout=self.timeout
        )

    async def all_pipelines(self) -> Partial[list[Pipeline]]:
        found, problems = await self._pipelines_by_source()
        merged = [p for key in self.pipelines if key in found for p in found[key]]
        return Partial[list[Pipeline]](
            value=sorted(merged, key=lambda p: (p.name, p.source)), problems=problems
        )

    async def _owner(self, name: str) -> tuple[str | None, Pipeline | None, Problems]:
        found, problems = await self._pipelines_by_source()
        for exact in (True, False):  # an exact name wins over a case-insensitive one
            for key in self.pipelines:  # configuration order decides between duplicates
                for pipeline in found.get(key, []):
                    if pipeline.name == name or (
                        not exact and pipeline.name.casefold() == name.casefold()
                    ):
                        return key, pipeline, problems
        return None, None, problems

    async def find_pipeline(self, name: str) -> Partial[Pipeline | None]:
        _key, pipeline, problems = await self._owner(name)
        return Partial[Pipeline | None](value=pipeline, problems=problems)

    async def recent_runs(self, name: str, *, limit: int = 20) -> Partial[list[PipelineRun]]:
        """Runs from the source that owns the pipeline (newest first)."""
        key, pipeline, problems = await self._owner(name)
        if key is None or pipeline is None:
            return Partial[list[PipelineRun]](value=[], problems=problems)
        source = self.pipelines[key]
        runs, more = await gather_partial(
            {key: lambda: source.recent_runs(pipeline.name, limit=limit)}, timeout=self.timeout
        )
        return Partial[list[PipelineRun]](value=runs.get(key, []), problems=problems + more)

    # -- models ------------------------------------------------------------------------------
    async def all_models(self) -> Partial[list[Model]]:
        found, problems = await gather_partial(
            {key: reg.list_models for key, reg in self.registries.items()}, timeout=self.timeout
        )
        merged = [m for key in self.registries if key in found for m in found[key]]
        return Partial[list[Model]](
            value=sorted(merged, key=lambda m: (m.name, m.source)), problems=problems
        )

    async def model(self, name: str) -> Partial[Model | None]:
        """The model from the first registry (in configuration order) that has it."""
        found, problems = await gather_partial(
            {key: _bind(reg.get_model, name) for key, reg in self.registries.items()},
            timeout=self.timeout,
        )
        model = next((found[k] for k in self.registries if found.get(k) is not None), None)
        return Partial[Model | None](value=model, problems=problems)

    async def model_health(self, name: str) -> Partial[ModelHealth | None]:
        """Health merged across metrics sources: earlier sources win, later ones fill gaps."""
        found, problems = await gather_partial(
            {key: _bind(src.model_health, name) for key, src in self.metrics.items()},
            timeout=self.timeout,
        )
        reports = [found[k] for k in self.metrics if k in found]
        return Partial[ModelHealth | None](value=_merge_health(reports), problems=problems)

    # -- spend -------------------------------------------------------------------------------
    async def spend(self, query: SpendQuery) -> Partial[SpendSummary]:
        """Spend summed over cost sources (each is expected to cover different accounts)."""
        found, problems = await gather_partial(
            {key: _bind(src.spend, query) for key, src in self.costs.items()},
            timeout=self.timeout,
        )
        summaries = [found[k] for k in self.costs if k in found]
        return Partial[SpendSummary](value=_merge_spend(query, summaries), problems=problems)

    async def coverage(self) -> Partial[tuple[CostCoverage, ...]]:
        """What each cost source covers, in configuration order; a source that cannot say (or
        did not answer) is there with its name only, so nothing is claimed about its data."""
        calls = {key: src.coverage for key, src in self.costs.items() if hasattr(src, "coverage")}
        found, problems = await gather_partial(calls, timeout=self.timeout)
        return Partial[tuple[CostCoverage, ...]](
            value=tuple(
                found[key].model_copy(update={"source": key})
                if key in found
                else CostCoverage(source=key)
                for key in self.costs
            ),
            problems=problems,
        )

    # -- probes ------------------------------------------------------------------------------
    async def probe_all(self) -> list[ProbeResult]:
        """Probe every distinct adapter concurrently; this is what `check-sources` prints."""
        adapters: dict[int, Any] = {}
        for group in (self.pipelines, self.registries, self.metrics, self.costs):
            for adapter in group.values():
                adapters.setdefault(id(adapter), adapter)
        return list(await asyncio.gather(*(self._probe(a) for a in adapters.values())))

    async def _probe(self, adapter: Any) -> ProbeResult:
        name = str(getattr(adapter, "name", type(adapter).__name__))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                result = await adapter.probe()
                if isinstance(result, ProbeResult):
                    return result
                raise TypeError(f"probe returned {type(result).__name__}")
        except TimeoutError:
            detail = f"probe timed out after {_seconds(self.timeout)}"
            fix = f"check that {name} is up, or raise its timeout in ops.yml"
        except Exception as exc:  # probe() must never raise; if one does, report it as down
            log.error(
                "probe_crashed",
                source=name,
                error_type=type(exc).__name__,
                error=redact(str(exc))[:500],
            )
            detail = f"probe failed: unexpected error: {type(exc).__name__}"
            fix = "this is a bug in the adapter; report it with the bot's logs"
        return ProbeResult(
            source=name,
            reachable=False,
            detail=detail,
            fix=fix,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )


def _bind(fn: Callable[[Any], Awaitable[T]], arg: Any) -> Callable[[], Awaitable[T]]:
    return lambda: fn(arg)


def _merge_health(reports: list[ModelHealth]) -> ModelHealth | None:
    if not reports:
        return None
    merged = reports[0].model_dump()
    problems = list(reports[0].problems)
    for report in reports[1:]:
        for field, value in report.model_dump().items():
            if merged.get(field) is None and value is not None:
                merged[field] = value
        problems += [p for p in report.problems if p not in problems]
    merged["problems"] = tuple(problems)
    return ModelHealth(**merged)


def _merge_spend(query: SpendQuery, summaries: list[SpendSummary]) -> SpendSummary:
    if len(summaries) == 1:
        return summaries[0]
    lines: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    daily: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    rows = 0
    for summary in summaries:
        for line in summary.lines:
            lines[(line.key, line.currency)] += line.cost
        for currency, cost in summary.totals.items():
            totals[currency] += cost
        for day, currency, cost in summary.daily:
            daily[(day, currency)] += cost
        rows += summary.rows_scanned or 0
    return SpendSummary(
        query=query,
        lines=tuple(
            sorted(
                (SpendLine(key=k, cost=c, currency=cur) for (k, cur), c in lines.items()),
                key=lambda line: (line.currency, -line.cost, line.key),
            )
        ),
        totals=dict(totals),
        daily=tuple((d, cur, c) for (d, cur), c in sorted(daily.items())),
        rows_scanned=rows,
    )
