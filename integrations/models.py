"""Domain objects every adapter returns: pipelines, models, health, spend, budgets, probes.

Adapters translate a peer's raw JSON into these; nothing outside integrations/ sees raw JSON.
Times are timezone-aware UTC datetimes; money is Decimal with an ISO 4217 currency.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class Domain(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunState(StrEnum):
    queued = "queued"
    running = "running"
    success = "success"
    failed = "failed"
    cancelled = "cancelled"
    skipped = "skipped"


class Pipeline(Domain):
    name: str
    source: str = Field(description="adapter that reported it: airflow, prefect, dagster, demo")
    schedule: str | None = Field(
        None, description="cron expression or preset, as the orchestrator has it"
    )
    paused: bool = False
    url: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    sla: timedelta | None = Field(
        None, description="a run must have succeeded this long after its slot"
    )
    schedule_timezone: str | None = Field(None, description="IANA zone of the cron; None is UTC")


class PipelineRun(Domain):
    pipeline: str
    run_id: str
    state: RunState
    started_at: datetime | None = None
    ended_at: datetime | None = None
    scheduled_for: datetime | None = None
    failed_task: str | None = None
    error: str | None = None
    log_url: str | None = None
    url: str | None = None

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.ended_at:
            return self.ended_at - self.started_at
        return None


class PipelineStatus(Domain):
    """A pipeline with its recent history and whether it is late against its schedule/SLA."""

    pipeline: Pipeline
    runs: tuple[PipelineRun, ...] = ()  # newest first
    last_success_at: datetime | None = None
    late: bool = False
    expected_by: datetime | None = None

    @property
    def last_run(self) -> PipelineRun | None:
        return self.runs[0] if self.runs else None


class ModelVersion(Domain):
    model: str
    version: str
    run_id: str | None = None
    status: str | None = None
    source: str | None = None
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(
        default_factory=dict, description="evaluation metrics of its run"
    )
    created_at: datetime | None = None
    created_by: str | None = Field(None, description="registry user who registered it")
    url: str | None = None


class Model(Domain):
    name: str
    source: str
    description: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict, description="alias -> version")
    tags: dict[str, str] = Field(default_factory=dict)
    latest_version: str | None = None
    updated_at: datetime | None = None
    url: str | None = None


class ModelHealth(Domain):
    model: str
    latency_p95_ms: float | None = None
    error_rate: float | None = Field(None, description="fraction of requests failing, 0..1")
    drift: float | None = Field(
        None, description="drift score; above the configured threshold is drifting"
    )
    measured_at: datetime | None = None
    problems: tuple[str, ...] = Field((), description="human-readable reasons it is unhealthy")

    @property
    def healthy(self) -> bool:
        return not self.problems


class CostMeasure(StrEnum):
    effective = "EffectiveCost"
    billed = "BilledCost"


class SpendDimension(StrEnum):
    service = "service"
    provider = "provider"
    team = "team"
    model = "model"
    pipeline = "pipeline"
    day = "day"
    charge_category = "charge_category"
    account = "account"  # the billing account (AWS payer, GCP billing account)
    sub_account = "sub_account"  # AWS member account, GCP project, Azure subscription


# Spend by service puts every tax charge on this one line, whatever service the provider named
# on it (FOCUS ChargeCategory "Tax"; Cost Explorer's "Tax" service): tax is levied on the bill,
# it is not an offering whose use moves, so movers and budget drivers leave it out while the
# totals keep it (`by charge_category` shows it beside usage, credits and purchases).
TAX_LINE = "Tax (not a service)"


class SpendQuery(Domain):
    """Spend over [start, end) in the workspace timezone, optionally filtered and grouped."""

    start: date
    end: date
    team: str | None = None
    model: str | None = None
    pipeline: str | None = None
    service: str | None = None
    group_by: SpendDimension | None = None
    measure: CostMeasure = CostMeasure.effective


class SpendLine(Domain):
    key: str = Field(description="value of the group-by dimension, or 'total'")
    cost: Decimal
    currency: str


class SpendSummary(Domain):
    query: SpendQuery
    lines: tuple[SpendLine, ...] = ()  # sorted by cost, descending, per currency
    totals: dict[str, Decimal] = Field(default_factory=dict, description="currency -> total")
    daily: tuple[tuple[date, str, Decimal], ...] = Field((), description="(day, currency, cost)")
    rows_scanned: int | None = None


class CostCoverage(Domain):
    """What one cost source's data covers, so answers know where it ends and how it counts.

    Days are those of `timezone`, the zone the source cuts days (and so months) in. None means
    unknown: the source cannot tell without a billed request (AWS Cost Explorer), or has no rows.
    """

    source: str
    first_day: date | None = None  # the first day with a charge
    last_day: date | None = None  # the last day with a charge
    timezone: str | None = Field(default=None, description="IANA zone whose midnights cut its days")
    measure: CostMeasure | None = Field(default=None, description="the cost column it sums")
    services: tuple[str, ...] | None = Field(
        default=None, description="every ServiceName in its data; None: not listed by this source"
    )


class Budget(Domain):
    team: str
    monthly: Decimal
    currency: str = "USD"
    alert_at: tuple[float, ...] = (0.8, 1.0)
    source: str = Field("ops.yml", description="ops.yml, store (raised by approval) or aws")


class ProbeResult(Domain):
    """What `switchboard check-sources` prints per source."""

    source: str
    reachable: bool
    authenticated: bool | None = None
    latency_ms: float | None = None
    detail: str = ""
    fix: str | None = None
    warnings: tuple[str, ...] = ()  # works, but something looks wrong (e.g. allocation rules)


class SourceProblem(Domain):
    source: str
    reason: str


T = TypeVar("T")


class Partial(BaseModel, Generic[T]):
    """An answer assembled from several sources; `problems` lists the ones that were down or slow."""

    model_config = ConfigDict(frozen=True)

    value: T
    problems: tuple[SourceProblem, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.problems)
