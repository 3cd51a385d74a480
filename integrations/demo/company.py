"""DemoCompany: a deterministic, realistic company behind every source Protocol at once.

Three teams, ~40 pipelines with 90 days of runs, 12 registered models with versions and
health, budgets, and 90 days of FOCUS spend ending today. Same (seed, today) -> same company.
Its spend goes through the real FOCUS path: the rows are written as FOCUS Parquet files to a
cache directory and read back by FocusCostSource, so the demo exercises the production code.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import shutil
import tempfile
import threading
import weakref
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from integrations.demo import catalog, models, pipelines, spend
from integrations.errors import SourceDataError, SourceNotFound
from integrations.focus.source import FocusCostSource
from integrations.focus.writer import write_focus
from integrations.models import (
    Budget,
    CostCoverage,
    Model,
    ModelHealth,
    ModelVersion,
    Pipeline,
    PipelineRun,
    PipelineStatus,
    ProbeResult,
    SpendQuery,
    SpendSummary,
)
from integrations.pipeline_status import pipeline_status


def generator_key() -> str:
    """A short hash of the code that generates and writes the demo's spend: a cached copy made
    by other code is never read."""
    from integrations.demo import streams
    from integrations.focus import writer

    digest = hashlib.sha256()
    for module in (catalog, pipelines, spend, streams, writer):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:12]


class DemoCompany:
    """PipelineSource, ModelRegistry, MetricsSource, CostSource and BudgetStore in one."""

    name = "demo"

    def __init__(
        self,
        seed: int = 42,
        today: date | None = None,
        *,
        now: datetime | None = None,
        timezone: str = "UTC",
        cache_dir: Path | None = None,
        allocation: Mapping[str, Mapping[str, str]] | None = None,
        service_owners: Mapping[str, str] | None = None,
    ) -> None:
        # "now" fixes which runs exist yet. Given only a day, the company is seen at noon UTC,
        # so (seed, today) alone is deterministic; the bot passes now=datetime.now(UTC).
        if now is not None:
            now = now if now.tzinfo else now.replace(tzinfo=UTC)
            today = today or now.astimezone(UTC).date()
        elif today is not None:
            now = datetime.combine(today, time(12, 0), UTC)
        else:
            now = datetime.now(UTC)
            today = date.today()
        self.seed = seed
        self.today = today
        self.now = now.astimezone(UTC)
        self.timezone = timezone
        self.first_day = today - timedelta(days=spend.WINDOW_DAYS - 1)
        self.allocation = {k: dict(v) for k, v in (allocation or catalog.ALLOCATION).items()}
        self.service_owners = dict(service_owners or {})
        self._pipelines = {p.name: p for p in catalog.PIPELINES}
        self._models = {m.name: m for m in catalog.MODELS}
        self._aliases = {
            m.name: {
                a: str(v)
                for a, v in (("champion", m.champion), ("challenger", m.challenger))
                if v is not None
            }
            for m in catalog.MODELS
        }
        self._budgets = {
            team: Budget(team=team, monthly=amount, alert_at=alerts, source="demo")
            for team, (amount, alerts) in catalog.BUDGETS.items()
        }
        self._runs: dict[str, list[PipelineRun]] | None = None
        self._versions: dict[str, list[ModelVersion]] = {}
        self._columns: dict[str, list[Any]] | None = None
        self._cost: FocusCostSource | None = None
        self._lock = threading.Lock()
        self._runs_lock = threading.Lock()
        # Without cache_dir the spend files live as long as this object. With one (the CLI's),
        # they are kept for the next process: same seed, day and generator, same files.
        self._shared_cache = cache_dir is not None
        if cache_dir is None:
            self._cache = Path(tempfile.mkdtemp(prefix="switchboard-demo-"))
            weakref.finalize(self, shutil.rmtree, self._cache, True)
        else:
            self._cache = Path(cache_dir) / f"seed{seed}-{today.isoformat()}-{generator_key()}"

    # -- what ops.yml is checked against -------------------------------------------------------
    @property
    def teams(self) -> tuple[str, ...]:
        return catalog.TEAMS

    @property
    def lineage(self) -> dict[str, dict[str, list[str]]]:
        return copy.deepcopy(catalog.LINEAGE)

    @property
    def owners(self) -> dict[str, dict[str, str]]:
        return {
            "pipelines": {p.name: p.team for p in catalog.PIPELINES},
            "models": {m.name: m.team for m in catalog.MODELS},
        }

    # -- PipelineSource ------------------------------------------------------------------------
    async def list_pipelines(self) -> list[Pipeline]:
        return [pipelines.pipeline(spec) for spec in self._pipelines.values()]

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        self._spec(pipeline)  # unknown names fail before any work
        await self._runs_ready()
        return self._history(pipeline)[:limit]

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        await self._runs_ready()
        found = [
            run
            for name in self._pipelines
            for run in self._history(name)
            if (run.started_at or run.scheduled_for or self.now) >= since
        ]
        return sorted(
            found, key=lambda r: r.started_at or r.scheduled_for or self.now, reverse=True
        )

    def pipeline_status(self, pipeline: str) -> PipelineStatus:
        """Recent runs plus whether the pipeline missed its SLA (for tests and the CLI)."""
        spec = self._spec(pipeline)
        return pipeline_status(pipelines.pipeline(spec), self._history(pipeline), now=self.now)

    # -- ModelRegistry -------------------------------------------------------------------------
    async def list_models(self) -> list[Model]:
        return [self._model(name) for name in self._models]

    async def get_model(self, name: str) -> Model | None:
        return self._model(name) if name in self._models else None

    async def versions(self, name: str) -> list[ModelVersion]:
        aliases = self._aliases[self._model_spec(name).name]
        return [
            v.model_copy(update={"aliases": tuple(a for a, n in aliases.items() if n == v.version)})
            for v in self._model_versions(name)
        ]

    async def set_alias(self, name: str, alias: str, version: str) -> None:
        self._model_spec(name)
        if not alias.strip():
            raise SourceDataError(self.name, "an alias needs a name")
        if version not in {v.version for v in self._model_versions(name)}:
            raise SourceNotFound(self.name, f"model {name!r} has no version {version!r}")
        self._aliases[name][alias] = version

    # -- MetricsSource -------------------------------------------------------------------------
    async def model_health(self, model: str) -> ModelHealth:
        return models.health(self._model_spec(model), seed=self.seed, now=self.now)

    # -- CostSource ----------------------------------------------------------------------------
    async def spend(self, query: SpendQuery) -> SpendSummary:
        source = await asyncio.to_thread(self.cost_source)
        return await source.spend(query)

    async def coverage(self) -> CostCoverage:
        source = await asyncio.to_thread(self.cost_source)
        return await source.coverage()

    def cost_source(self) -> FocusCostSource:
        """The FOCUS DuckDB source over this company's spend, written once to the cache."""
        with self._lock:
            if self._cost is None:
                if self._shared_cache:
                    self._publish_cache()
                elif not any(self._cache.glob("focus-*.parquet")):
                    self.write_focus(self._cache)
                self._cost = FocusCostSource(
                    str(self._cache / "focus-*.parquet"),
                    version="1.2",
                    timezone=self.timezone,
                    allocation=self.allocation,
                    service_owners=self.service_owners,
                    name=self.name,
                )
            return self._cost

    def _publish_cache(self) -> None:
        """Write the files once into a shared cache that other processes read concurrently.

        They are written to a private directory renamed into place, so a reader sees all of a
        day's files or none; the loser of a race drops its copy. Other days' copies of this
        seed are removed (best effort: a file in use elsewhere is left for next time).
        """
        if self._cache.is_dir():
            return
        parent = self._cache.parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self._cache.name}-", dir=parent))
        try:
            self.write_focus(staging)
            staging.rename(self._cache)
        except OSError:
            if not self._cache.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for stale in parent.glob(f"seed{self.seed}-*"):
            if stale != self._cache:
                shutil.rmtree(stale, ignore_errors=True)

    def spend_columns(self) -> dict[str, list[Any]]:
        """The spend as FOCUS 1.2 columns in memory (column name -> values)."""
        if self._columns is None:
            self._columns = spend.generate(seed=self.seed, today=self.today)
        return self._columns

    def write_focus(
        self, directory: Path, fmt: str = "parquet", version: str = "1.2"
    ) -> list[Path]:
        """Write the spend as FOCUS files, one per month; returns their paths."""
        return write_focus(self.spend_columns(), Path(directory), fmt=fmt, version=version)

    # -- BudgetStore ---------------------------------------------------------------------------
    async def budgets(self) -> list[Budget]:
        return list(self._budgets.values())

    async def set_budget(self, budget: Budget) -> None:
        self._budgets[budget.team] = budget

    # -- Probeable -----------------------------------------------------------------------------
    async def probe(self) -> ProbeResult:
        return ProbeResult(
            source=self.name,
            reachable=True,
            authenticated=True,
            latency_ms=0.0,
            detail=(
                f"demo company (seed {self.seed}): {len(self._pipelines)} pipelines, "
                f"{len(self._models)} models, {len(self.teams)} teams, spend "
                f"{self.first_day} to {self.today}"
            ),
        )

    # -- internals -----------------------------------------------------------------------------
    def _spec(self, pipeline: str) -> catalog.PipelineSpec:
        if pipeline not in self._pipelines:
            raise SourceNotFound(self.name, f"no pipeline named {pipeline!r} in the demo company")
        return self._pipelines[pipeline]

    async def _runs_ready(self) -> None:
        if self._runs is None:  # ~13k runs take a few hundred ms: keep them off the event loop
            await asyncio.to_thread(self._all_runs)

    def _all_runs(self) -> dict[str, list[PipelineRun]]:
        with self._runs_lock:
            if self._runs is None:
                start = datetime.combine(self.first_day, time(0), UTC)
                self._runs = {
                    name: pipelines.history(p, seed=self.seed, start=start, now=self.now)
                    for name, p in self._pipelines.items()
                }
            return self._runs

    def _history(self, pipeline: str) -> list[PipelineRun]:
        spec = self._spec(pipeline)
        return self._all_runs()[spec.name]

    def _model_spec(self, name: str) -> catalog.ModelSpec:
        if name not in self._models:
            raise SourceNotFound(self.name, f"no model named {name!r} in the demo registry")
        return self._models[name]

    def _model_versions(self, name: str) -> list[ModelVersion]:
        spec = self._model_spec(name)
        if name not in self._versions:
            self._versions[name] = models.versions(spec, seed=self.seed, now=self.now)
        return self._versions[name]

    def _model(self, name: str) -> Model:
        spec = self._model_spec(name)
        return models.model(spec, self._model_versions(name), self._aliases[name])
