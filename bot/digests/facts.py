"""What one digest reads, fetched once and concurrently, then scoped to the digest's teams.

Every board is read for every team (one fetch per question, whichever digest asks) and each item
is kept when its owning team is in the digest's `teams:` (ops.yml ownership). A part whose
source fails is left out and named in `missing`; the digest says so, it never breaks.

The cost window is the last 7 days *of cost data*: when the bill ends before today (a daily
export that lags), the window ends on its last day and is compared with the 7 days before it,
so a digest never reads the missing days as a drop in spend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import structlog

from bot.answers.budgets import BudgetBoard, BudgetLine, budget_board
from bot.answers.coverage import cost_data
from bot.answers.deps import AnswerDeps
from bot.answers.digests import FETCHERS, once_per_slot
from bot.answers.entities import Unknown
from bot.answers.incidents import incident_list
from bot.answers.model_spend import attributed_spend
from bot.answers.models import BoardRow, ModelBoard, model_board
from bot.answers.pipelines import RUN_WINDOW, PipelineBoard, finished_runs, pipeline_board
from bot.answers.spend import SpendAnswer, spend_answer
from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.store.models import Incident
from integrations.focus.sql import UNALLOCATED
from integrations.models import PipelineStatus, RunState, SpendDimension, SpendQuery

log = structlog.get_logger(__name__)

PERIOD_DAYS = 7  # what a digest's spend, model costs and failed-run spend cover
SPEND_PERIOD = f"{PERIOD_DAYS}d"

T = TypeVar("T")


@dataclass(frozen=True)
class CostWindow:
    """The days cost figures cover: [start, end) and the same number of days before it."""

    start: date
    end: date  # exclusive
    previous_start: date
    data_ends: date | None  # the cost data's last day, when it is before today

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def cost_window(today: date, data_last_day: date | None) -> CostWindow:
    last = today if data_last_day is None or data_last_day >= today else data_last_day
    end = last + timedelta(days=1)
    start = end - timedelta(days=PERIOD_DAYS)
    return CostWindow(
        start=start,
        end=end,
        previous_start=start - timedelta(days=PERIOD_DAYS),
        data_ends=last if last < today else None,
    )


@dataclass(frozen=True)
class ModelCostChange:
    model: str
    currency: str
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> float | None:
        return float((self.current - self.previous) / self.previous) if self.previous else None


@dataclass(frozen=True)
class FailedSpend:
    """A pipeline's spend in the window and the part its failed runs are estimated to have
    cost (spend × failed run time / all finished run time in the window)."""

    pipeline: str
    currency: str
    spend: Decimal
    failed: Decimal
    failed_runs: int
    runs: int


@dataclass(frozen=True)
class Facts:
    digest: Digest
    teams: tuple[str, ...] | None  # None: every team
    now: datetime
    window: CostWindow
    currency: str
    statuses: list[PipelineStatus]  # in scope, every state
    failing: list[PipelineStatus]  # in scope, newest failure first
    late: list[PipelineStatus]
    pipeline_board: PipelineBoard | None  # every team's (None: not read)
    models: list[BoardRow]  # in scope
    all_models: list[BoardRow]  # every team's (lineage reaches across teams)
    budgets: list[BudgetLine]
    budget_board: BudgetBoard | None  # every team's BudgetBoard (None: not read)
    approvals: list[Any]  # RequestSnapshots waiting, oldest first
    incidents: list[Incident]
    spend: list[tuple[str | None, SpendAnswer]]  # (team, answer) per team in scope
    model_costs: list[ModelCostChange]  # in scope, biggest first
    pipeline_spend: dict[str, Decimal]  # pipeline -> spend in the window (main currency)
    failed_spend: list[FailedSpend]  # pipelines with failed runs in the window, costliest first
    # The first day failed-run spend counts: the window's, unless the runs read (the board's
    # last 8 days) start later (cost data ending days ago): then both runs and spend start here.
    failed_from: date | None = None
    missing: dict[str, str] = field(default_factory=dict)  # part -> why it is not shown

    def in_scope(self, team: str | None) -> bool:
        return self.teams is None or team in self.teams

    @property
    def failed_total(self) -> Decimal:
        return sum((f.failed for f in self.failed_spend), Decimal(0))


def scoped_pipeline(config: OpsConfig, teams: tuple[str, ...] | None, name: str) -> bool:
    return teams is None or config.team_of_pipeline(name) in teams


def scoped_model(config: OpsConfig, teams: tuple[str, ...] | None, name: str) -> bool:
    return teams is None or config.team_of_model(name) in teams


async def _safe(part: str, call: Awaitable[T], missing: dict[str, str]) -> T | None:
    try:
        return await call
    except Exception as exc:  # one failed part is named in the digest, never the digest lost
        log.warning("digest_part_failed", part=part, error=type(exc).__name__)
        missing[part] = str(exc) if isinstance(exc, LookupError) else "failed on my side"
        return None


def _window_runs(status: PipelineStatus, start: datetime, end: datetime) -> list[Any]:
    return [r for r in finished_runs(status.runs) if r.started_at and start <= r.started_at < end]


def failed_spend(
    statuses: Sequence[PipelineStatus],
    spend: dict[str, Decimal],
    currency: str,
    start: datetime,
    end: datetime,
) -> list[FailedSpend]:
    """Each pipeline with failed runs started in [start, end): its spend split by run time."""
    out = []
    for status in statuses:
        runs = _window_runs(status, start, end)
        failed = [r for r in runs if r.state is RunState.failed]
        if not failed:
            continue
        total = sum((r.duration or timedelta() for r in runs), timedelta())
        lost = sum((r.duration or timedelta() for r in failed), timedelta())
        cost = spend.get(status.pipeline.name, Decimal(0))
        share = (
            Decimal(lost.total_seconds()) / Decimal(total.total_seconds())
            if total > timedelta()
            else Decimal(0)
        )
        out.append(
            FailedSpend(
                pipeline=status.pipeline.name,
                currency=currency,
                spend=cost,
                failed=(cost * share).quantize(Decimal("0.01")),
                failed_runs=len(failed),
                runs=len(runs),
            )
        )
    return sorted(out, key=lambda f: (-f.failed, f.pipeline))


async def _spend_by(deps: AnswerDeps, start: date, end: date, by: SpendDimension) -> Any:
    found = await attributed_spend(deps, SpendQuery(start=start, end=end, group_by=by))
    return found.value


async def _approvals(deps: AnswerDeps) -> Any:
    return await FETCHERS["approvals"](deps, None)


async def _spend_answers(
    deps: AnswerDeps, teams: tuple[str, ...] | None
) -> list[tuple[str | None, SpendAnswer]]:
    asked: list[str | None] = list(teams) if teams else [None]
    found = await asyncio.gather(*(spend_answer(deps, team=t, period=SPEND_PERIOD) for t in asked))
    out = []
    for team, answer in zip(asked, found, strict=True):
        if isinstance(answer, Unknown):
            raise LookupError(answer.message)
        out.append((team, answer))
    return out


async def gather_facts(deps: AnswerDeps, digest: Digest) -> Facts:
    """Everything the digest's headline, highlights and sections read, at once."""
    config = deps.config
    teams = tuple(t for t in digest.teams if t in config.teams) if digest.teams else None
    missing: dict[str, str] = {}
    data, _coverage = await cost_data(deps)
    window = cost_window(deps.today, data.last_day)
    wants = set(digest.sections)
    spend_wanted = bool(wants & {"spend", "budgets", "idle"})

    async def skipped() -> None:
        return None

    def task(
        part: str, make: Callable[[], Awaitable[T]], wanted: bool = True
    ) -> asyncio.Future[T | None]:
        """The part started now (it runs while the others do), or nothing when not wanted."""
        return asyncio.ensure_future(_safe(part, make(), missing) if wanted else skipped())

    board_t = task(
        "pipelines", lambda: once_per_slot(deps, ("pipelines",), lambda: pipeline_board(deps))
    )
    models_t = task("models", lambda: once_per_slot(deps, ("models",), lambda: model_board(deps)))
    budgets_t = task(
        "budgets",
        lambda: once_per_slot(deps, ("budgets",), lambda: budget_board(deps)),
        "budgets" in wants,
    )
    approvals_t = task("approvals", lambda: _approvals(deps), "approvals" in wants)
    incidents_t = task("incidents", lambda: incident_list(deps))
    spend_t = task("spend", lambda: _spend_answers(deps, teams), spend_wanted)
    now_t = task(
        "model costs", lambda: _spend_by(deps, window.start, window.end, SpendDimension.model)
    )
    before_t = task(
        "model costs",
        lambda: _spend_by(deps, window.previous_start, window.start, SpendDimension.model),
    )
    pipes_t = task(
        "pipeline spend", lambda: _spend_by(deps, window.start, window.end, SpendDimension.pipeline)
    )
    board: PipelineBoard | None = await board_t
    models: ModelBoard | None = await models_t
    budgets: BudgetBoard | None = await budgets_t
    approvals: list[Any] | None = await approvals_t
    incidents: list[Incident] | None = await incidents_t
    spend: list[tuple[str | None, SpendAnswer]] | None = await spend_t
    # Runs are read for the board's window only: failed-run spend counts the days they cover.
    covered = (deps.now - RUN_WINDOW).astimezone(deps.workspace_tz).date() + timedelta(days=1)
    failed_from = max(window.start, covered)
    failed_t = task(
        "pipeline spend",
        lambda: _spend_by(deps, failed_from, window.end, SpendDimension.pipeline),
        failed_from > window.start,
    )
    by_model_now, by_model_before, by_pipeline = await now_t, await before_t, await pipes_t
    by_pipeline_failed = await failed_t if failed_from > window.start else by_pipeline
    currency = config.workspace.currency
    if spend:
        currency = next((a.currency for _t, a in spend if a.currency), currency)

    statuses: list[PipelineStatus] = []
    failing: list[PipelineStatus] = []
    late: list[PipelineStatus] = []
    if board is not None:
        keep = [
            s
            for s in [*board.failing, *board.late, *board.running, *board.healthy]
            if scoped_pipeline(config, teams, s.pipeline.name)
        ]
        statuses = keep
        failing = [s for s in board.failing if scoped_pipeline(config, teams, s.pipeline.name)]
        late = [s for s in board.late if scoped_pipeline(config, teams, s.pipeline.name)]

    all_rows = list(models.rows) if models is not None else []
    model_rows = [r for r in all_rows if scoped_model(config, teams, r[0].name)]

    def lines(summary: Any) -> dict[str, Decimal]:
        if summary is None:
            return {}
        return {
            line.key: line.cost
            for line in summary.lines
            if line.currency == currency and line.key != UNALLOCATED
        }

    now_costs, before_costs = lines(by_model_now), lines(by_model_before)
    model_costs = sorted(
        (
            ModelCostChange(
                m, currency, now_costs.get(m, Decimal(0)), before_costs.get(m, Decimal(0))
            )
            for m in dict.fromkeys([*now_costs, *before_costs])
            if scoped_model(config, teams, m)
        ),
        key=lambda c: (-c.current, c.model),
    )
    pipeline_spend = lines(by_pipeline)
    start = datetime.combine(failed_from, datetime.min.time(), deps.workspace_tz)
    end = datetime.combine(window.end, datetime.min.time(), deps.workspace_tz)
    return Facts(
        digest=digest,
        teams=teams,
        now=deps.now,
        window=window,
        currency=currency,
        statuses=statuses,
        failing=failing,
        late=late,
        pipeline_board=board,
        models=model_rows,
        all_models=all_rows,
        budgets=[b for b in (budgets.lines if budgets else []) if teams is None or b.team in teams],
        budget_board=budgets,
        approvals=[a for a in (approvals or []) if teams is None or a.team in teams],
        incidents=[i for i in (incidents or []) if teams is None or i.team in teams],
        spend=spend or [],
        model_costs=model_costs,
        pipeline_spend=pipeline_spend,
        failed_spend=failed_spend(statuses, lines(by_pipeline_failed), currency, start, end)
        if by_pipeline_failed is not None
        else [],
        failed_from=failed_from,
        missing=missing,
    )
