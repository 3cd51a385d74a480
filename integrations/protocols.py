"""The four small interfaces the bot reads through; one adapter per system implements one or more."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from integrations.models import (
    Budget,
    CostCoverage,
    Model,
    ModelHealth,
    ModelVersion,
    Pipeline,
    PipelineRun,
    ProbeResult,
    SpendQuery,
    SpendSummary,
)


@runtime_checkable
class Probeable(Protocol):
    name: str

    async def probe(self) -> ProbeResult:
        """Reachable? Authenticated? How fast? What to fix? Never raises."""
        ...


@runtime_checkable
class PipelineSource(Probeable, Protocol):
    async def list_pipelines(self) -> list[Pipeline]: ...

    async def recent_runs(self, pipeline: str, *, limit: int = 20) -> list[PipelineRun]:
        """Newest first; includes the failing task and a log link for failed runs."""
        ...

    async def runs_since(self, since: datetime) -> list[PipelineRun]:
        """All runs of all pipelines started at or after `since`, newest first."""
        ...


@runtime_checkable
class ModelRegistry(Probeable, Protocol):
    async def list_models(self) -> list[Model]: ...

    async def get_model(self, name: str) -> Model | None: ...

    async def versions(self, name: str) -> list[ModelVersion]:
        """Newest first, with the evaluation metrics of each version's run."""
        ...

    async def set_alias(self, name: str, alias: str, version: str) -> None:
        """The write used by promotion approvals."""
        ...


@runtime_checkable
class MetricsSource(Probeable, Protocol):
    async def model_health(self, model: str) -> ModelHealth: ...


@runtime_checkable
class CostSource(Probeable, Protocol):
    async def spend(self, query: SpendQuery) -> SpendSummary: ...


@runtime_checkable
class CoveredCostSource(CostSource, Protocol):
    async def coverage(self) -> CostCoverage:
        """Where the data starts and ends, the zone days are cut in, the measure, the services.
        Cheap (cached or free): every spend answer asks it."""
        ...


@runtime_checkable
class BudgetStore(Protocol):
    async def budgets(self) -> list[Budget]: ...

    async def set_budget(self, budget: Budget) -> None: ...
