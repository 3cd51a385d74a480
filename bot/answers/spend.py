"""`/ops spend`: what a team, model, pipeline or service cost in a period, against the period
before, with group-by lines, top movers, the month-end forecast and the team's budget burn.

Names are matched against known ones (ops.yml teams, registry models, orchestrator pipelines,
the services the bill reports) before any query; every query of one answer runs concurrently.
A model's spend (`model:M`, `by model`) is what it carries through lineage plus its serving, the
same figure as `/ops model M` (model_spend).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.answers.budgets import BudgetLine, budget_line, configured_budgets
from bot.answers.coverage import CostData, cost_data
from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, match_name, resolve_service, resolve_team
from bot.answers.model_spend import attributed_spend
from bot.answers.periods import (
    NotAPeriod,
    Period,
    PeriodError,
    previous_period,
    resolve_period,
    same_days_before,
)
from integrations.focus.analysis import (
    Mover,
    daily_series,
    forecast_month_end,
    main_currency,
    top_movers,
)
from integrations.focus.sql import UNALLOCATED
from integrations.models import (
    TAX_LINE,
    Budget,
    CostCoverage,
    Partial,
    SourceProblem,
    SpendDimension,
    SpendLine,
    SpendQuery,
    SpendSummary,
)

TOP_MOVERS = 5


@dataclass(frozen=True)
class SpendScope:
    team: str | None = None
    model: str | None = None
    pipeline: str | None = None
    service: str | None = None
    # How names typed another way were read ("s3 read as AmazonS3"); not part of the scope.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """`ml-platform`, `model churn`, `Amazon S3` or "" for all spend (raw: escape to show)."""
        parts = [
            self.team or "",
            f"model {self.model}" if self.model else "",
            f"pipeline {self.pipeline}" if self.pipeline else "",
            self.service or "",
        ]
        return ", ".join(p for p in parts if p)

    def query(self, period: Period, group_by: SpendDimension | None) -> SpendQuery:
        return SpendQuery(
            start=period.start,
            end=period.end,
            team=self.team,
            model=self.model,
            pipeline=self.pipeline,
            service=self.service,
            group_by=group_by,
        )


@dataclass(frozen=True)
class CurrencyTotal:
    """One currency's total now and in the previous period (currencies are never added up)."""

    currency: str
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> float | None:
        """0.124 for +12.4%; None when nothing was spent before."""
        return float((self.current - self.previous) / self.previous) if self.previous else None


@dataclass(frozen=True)
class SpendAnswer:
    scope: SpendScope
    period: Period
    previous: Period
    currency: str  # the main currency: what the chart, movers and forecast are in
    totals: tuple[CurrencyTotal, ...]  # main currency first
    group_by: SpendDimension | None
    lines: tuple[SpendLine, ...]  # group-by lines, per currency, biggest first (days: by date)
    previous_lines: dict[tuple[str, str], Decimal]  # (key, currency) -> cost before
    movers: tuple[Mover, ...]
    movers_by: SpendDimension
    daily: tuple[tuple[date, Decimal], ...]  # every day of the period up to today
    previous_daily: tuple[tuple[date, Decimal], ...]
    forecast: Decimal | None  # month-end, when the period reaches today
    budget: BudgetLine | None  # when a team is in scope: its burn in the month asked about
    # The day the answer is as of: today, or for a past month (last-month, 2026-10) that month's
    # last day, so its budget, month name and budget pace are that month's, not this one's.
    today: date
    timezone: str
    problems: tuple[SourceProblem, ...] = ()
    # The first day of cost data, when the previous period lies wholly before it: then there is
    # nothing to compare with (no trend, no movers), not "nothing was spent".
    data_starts: date | None = None
    # The last day of cost data, when the period runs past it: figures are up to that day and
    # compared with as many days before, and a period wholly after it has no data at all.
    data_ends: date | None = None
    measure: str = ""  # the cost column summed: "EffectiveCost" (per source when they differ)
    # How tax moved, when the movers are by service and left it out (not a service, see TAX_LINE):
    # the totals include it, so the answer says where the difference went.
    tax_apart: Mover | None = None
    rows_scanned: int | None = None
    queries: int = field(default=0, compare=False)  # how many spend queries the answer ran

    @property
    def total(self) -> CurrencyTotal | None:
        return self.totals[0] if self.totals else None

    @property
    def empty(self) -> bool:
        return not any(t.current or t.previous for t in self.totals)

    @property
    def no_data(self) -> bool:
        """The period lies wholly outside the cost data: nothing is known, not "$0"."""
        after = self.data_ends is not None and self.data_ends < self.period.start
        before = self.data_starts is not None and self.data_starts > self.period.last_day
        return after or before

    @property
    def unallocated(self) -> bool:
        """The scope is the spend no team carries (`team:unallocated`)."""
        return self.scope.team == UNALLOCATED

    @property
    def closed(self) -> bool:
        """The period is a whole month that has ended (this month asked by name is month to
        date): its figures are final, so nothing about it is forecast."""
        return self.period.kind == "month"


async def _names(
    call: Awaitable[Partial[list[Any]]],
) -> tuple[list[str], tuple[SourceProblem, ...]]:
    found = await call
    return [item.name for item in found.value], found.problems


async def _services(
    deps: AnswerDeps, window: SpendQuery, coverage: tuple[CostCoverage, ...]
) -> tuple[list[str], tuple[SourceProblem, ...]]:
    """Every service the cost data has (as the sources list it), and those billed in the window
    asked about from any source that does not list them."""
    listed = [s for c in coverage for s in (c.services or ())]
    if coverage and all(c.services is not None for c in coverage):
        return list(dict.fromkeys(listed)), ()
    found = await deps.sources.spend(window.model_copy(update={"group_by": SpendDimension.service}))
    billed = [line.key for line in found.value.lines if line.key != TAX_LINE]  # not a service
    return list(dict.fromkeys([*listed, *billed])), found.problems


async def resolve_scope(
    deps: AnswerDeps,
    *,
    team: str | None,
    model: str | None,
    pipeline: str | None,
    service: str | None,
    window: SpendQuery,
    coverage: tuple[CostCoverage, ...] = (),
) -> SpendScope | Unknown:
    """Each filter as a known name (with notes on names read from another spelling), or the
    Unknown (with suggestions) for the first that is not."""
    matched: dict[str, str | None] = {"team": None}
    notes: list[str] = []
    if team is not None:
        if team.strip().casefold() == UNALLOCATED and UNALLOCATED not in deps.config.teams:
            matched["team"] = UNALLOCATED  # the spend no team carries: drilled into like a team
        else:
            found_team = resolve_team(deps.config, team)
            if isinstance(found_team, Unknown):
                return found_team
            matched["team"] = found_team
    lookups: dict[str, Awaitable[tuple[list[str], tuple[SourceProblem, ...]]]] = {}
    if model is not None:
        lookups["model"] = _names(deps.sources.all_models())
    if pipeline is not None:
        lookups["pipeline"] = _names(deps.sources.all_pipelines())
    if service is not None:
        lookups["service"] = _services(deps, window, coverage)
    known = dict(zip(lookups, await asyncio.gather(*lookups.values()), strict=True))
    asked = {"model": model, "pipeline": pipeline, "service": service}
    for kind, (names, problems) in known.items():
        typed = asked[kind]
        assert typed is not None
        if kind == "model":
            names += [m for e in deps.config.lineage.values() for m in (*e.trains, *e.feeds)]
        if not names and problems:
            # Nothing to match against: an exact name still goes through, because every cost
            # source binds filter values as query parameters (never spliced into SQL or a path).
            matched[kind] = typed
            continue
        if kind == "service":
            read = resolve_service(typed, names)
            if isinstance(read, Unknown):
                return read
            matched[kind] = read.name
            notes += [read.note] if read.note else []
            continue
        found = match_name(typed, names, kind=kind)
        if isinstance(found, Unknown):
            return found
        matched[kind] = found
    return SpendScope(**matched, notes=tuple(notes))


def _movers_dimension(scope: SpendScope, group_by: SpendDimension | None) -> SpendDimension:
    if group_by is not None and group_by is not SpendDimension.day:
        return group_by
    return SpendDimension.team if scope.service and not scope.team else SpendDimension.service


def _tax_apart(now: SpendSummary, before: SpendSummary, currency: str) -> Mover | None:
    """The tax line's change between the periods, when it changed."""

    def tax(summary: SpendSummary) -> Decimal:
        return sum(
            (x.cost for x in summary.lines if x.key == TAX_LINE and x.currency == currency),
            Decimal(0),
        )

    moved = Mover(key=TAX_LINE, current=tax(now), previous=tax(before), currency=currency)
    return moved if moved.delta else None


def _filled(
    series: dict[date, Decimal], period: Period, today: date
) -> tuple[tuple[date, Decimal], ...]:
    return tuple((d, series.get(d, Decimal(0))) for d in period.dates() if d <= today)


def _by_key(summary: SpendSummary) -> dict[tuple[str, str], Decimal]:
    return {(line.key, line.currency): line.cost for line in summary.lines}


def _ordered_lines(summary: SpendSummary, group_by: SpendDimension | None) -> tuple[SpendLine, ...]:
    if group_by is SpendDimension.day:
        return tuple(sorted(summary.lines, key=lambda line: (line.currency, line.key)))
    return summary.lines


def _totals(current: SpendSummary, previous: SpendSummary, main: str) -> tuple[CurrencyTotal, ...]:
    currencies = sorted(set(current.totals) | set(previous.totals), key=lambda c: (c != main, c))
    return tuple(
        CurrencyTotal(c, current.totals.get(c, Decimal(0)), previous.totals.get(c, Decimal(0)))
        for c in currencies
    )


async def _team_budget(deps: AnswerDeps, team: str) -> Budget | None:
    if deps.budgets is None:
        return next((b for b in configured_budgets(deps.config) if b.team == team), None)
    return await deps.budgets.budget(team)


def _merge(problems: Iterable[SourceProblem]) -> tuple[SourceProblem, ...]:
    return tuple(dict.fromkeys(problems))


async def _no_budget() -> None:
    return None


def _plan(
    scope: SpendScope,
    current: Period,
    before: Period,
    dimension: SpendDimension | None,
    movers_by: SpendDimension,
    today: date,
) -> dict[str, SpendQuery]:
    """Every query the answer needs, by role; roles may share a query (asked once)."""
    month_start = today.replace(day=1)
    month = Period(month_start, today + timedelta(days=1), "month to date", "mtd")
    reaches_today = current.covers(today)
    covers_month = current.start <= month_start and reaches_today
    by_day = dimension is SpendDimension.day
    queries = {
        "current": scope.query(current, dimension or movers_by),
        # compared line by line with the current period, and the movers' "before"
        "previous": scope.query(before, movers_by if by_day else (dimension or movers_by)),
    }
    if by_day:
        queries["movers"] = scope.query(current, movers_by)
    if reaches_today and not covers_month:
        queries["month"] = scope.query(month, None)  # the month-end forecast's run rate
    # A team's budget burn is in the month asked about: a past month's, else this month's.
    budget_month, covered = (current, True) if current.kind == "month" else (month, covers_month)
    team_only = SpendScope(team=scope.team)
    if scope.team and (scope != team_only or not covered):
        queries["team_month"] = team_only.query(budget_month, None)
    return queries


def _as_of(current: Period, today: date) -> date:
    """The day a budget is judged on: the last day of a past month asked about, else today."""
    return current.last_day if current.kind == "month" else today


async def _start_of_data(deps: AnswerDeps, before: Period, current: Period) -> date | None:
    """The first day of cost data when it begins after `before` ends (nothing to compare with),
    else None. One unfiltered query, asked only when the previous period shows no spend and the
    sources cannot say where their data starts."""
    found = await deps.sources.spend(SpendQuery(start=before.start, end=current.end))
    if found.problems:
        return None
    days = [day for day, _currency, cost in found.value.daily if cost]
    first = min(days, default=None)
    return first if first is not None and first >= before.end else None


def _no_data_answer(
    scope: SpendScope,
    current: Period,
    before: Period,
    data: CostData,
    *,
    today: date,
    group_by: SpendDimension | None,
    movers_by: SpendDimension,
) -> SpendAnswer:
    """The answer for a period wholly outside the cost data: it says where the data is."""
    return SpendAnswer(
        scope=scope,
        period=current,
        previous=before,
        currency="",
        totals=(),
        group_by=group_by,
        lines=(),
        previous_lines={},
        movers=(),
        movers_by=movers_by,
        daily=(),
        previous_daily=(),
        forecast=None,
        budget=None,
        today=_as_of(current, today),
        timezone=data.timezone,
        measure=data.measure,
        data_starts=data.first_day
        if data.first_day and data.first_day > current.last_day
        else None,
        data_ends=data.last_day if data.last_day and data.last_day < current.start else None,
        problems=data.ended_before(data.last_day) if data.last_day else (),
    )


async def spend_answer(
    deps: AnswerDeps,
    *,
    team: str | None = None,
    model: str | None = None,
    pipeline: str | None = None,
    service: str | None = None,
    period: str | None = None,
    group_by: str | None = None,
) -> SpendAnswer | Unknown:
    """Spend of the scope in `period` (default 30d) vs the period before, or the Unknown that
    says which name or period was not understood."""
    today = deps.today
    try:
        current = resolve_period(period, today)
    except PeriodError as exc:
        return NotAPeriod("period", period or "", reason=str(exc))
    before = previous_period(current)
    dimension = SpendDimension(group_by) if group_by else None
    window = SpendQuery(start=before.start, end=current.end)
    data, coverage = await cost_data(deps)
    scope = await resolve_scope(
        deps,
        team=team,
        model=model,
        pipeline=pipeline,
        service=service,
        window=window,
        coverage=coverage,
    )
    if isinstance(scope, Unknown):
        return scope
    movers_by = _movers_dimension(scope, dimension)

    # Where the data ends inside the period, figures run to that day and are compared with as
    # many days before it; a period wholly outside the data has nothing to show but that.
    last_asked = min(current.last_day, today)
    data_ends = data.last_day if data.last_day is not None and data.last_day < last_asked else None
    outside = data_ends is not None and data_ends < current.start
    if outside or (data.first_day is not None and data.first_day > current.last_day):
        return _no_data_answer(
            scope, current, before, data, today=today, group_by=dimension, movers_by=movers_by
        )
    if data_ends is not None:
        before = same_days_before(current, before, (data_ends - current.start).days + 1)
    last_day = data_ends or today

    month_start = today.replace(day=1)
    budget_month = current.start if current.kind == "month" else month_start
    month_has_data = data.last_day is None or data.last_day >= budget_month
    queries = _plan(scope, current, before, dimension, movers_by, today)
    # One round trip: identical queries are asked once, all of them at the same time.
    unique = list(dict.fromkeys(queries.values()))
    wants_budget = scope.team is not None and scope.team != UNALLOCATED and month_has_data
    budget_call = _team_budget(deps, scope.team) if wants_budget and scope.team else _no_budget()
    results, budget = await asyncio.gather(
        asyncio.gather(*(attributed_spend(deps, q) for q in unique)), budget_call
    )
    by_query: dict[SpendQuery, Partial[SpendSummary]] = dict(zip(unique, results, strict=True))
    got = {name: by_query[q] for name, q in queries.items()}

    now, prev = got["current"].value, got["previous"].value
    main = main_currency(now) if now.totals else main_currency(prev)
    movers_now = got.get("movers", got["current"]).value
    month_summary = got["month"].value if "month" in got else now
    reaches_today = current.covers(today)
    forecast = (
        forecast_month_end(daily_series(month_summary, main), today)
        if reaches_today and month_has_data
        else None
    )
    as_of = _as_of(current, today)
    burn: BudgetLine | None = None
    if isinstance(budget, Budget) and scope.team:
        team_month = got["team_month"] if "team_month" in got else got["current"]
        burn = budget_line(budget, team_month.value, as_of, partial=team_month.partial)
    movers = tuple(top_movers(movers_now, prev, TOP_MOVERS, currency=main))
    tax_apart = _tax_apart(movers_now, prev, main) if movers_by is SpendDimension.service else None
    data_starts = None
    asked_for_start = False
    if any(now.totals.values()) and not any(prev.totals.values()):
        if data.first_day is not None:
            data_starts = data.first_day if data.first_day >= before.end else None
        else:
            data_starts = await _start_of_data(deps, before, current)
            asked_for_start = True
    if data_starts is not None:
        movers = ()  # nothing to compare with: no mover is "new" (views say where data starts)
    ended = data.ended_before(data_ends or last_asked)

    return SpendAnswer(
        scope=scope,
        period=current,
        previous=before,
        currency=main,
        totals=_totals(now, prev, main),
        group_by=dimension,
        lines=_ordered_lines(now, dimension) if dimension else (),
        previous_lines=_by_key(prev) if dimension and dimension is not SpendDimension.day else {},
        movers=movers,
        movers_by=movers_by,
        tax_apart=tax_apart if movers else None,
        daily=_filled(daily_series(now, main), current, last_day),
        previous_daily=_filled(daily_series(prev, main), before, today),
        forecast=forecast,
        budget=burn,
        today=as_of,
        timezone=data.timezone,
        measure=data.measure,
        problems=_merge([*(p for r in results for p in r.problems), *ended]),
        rows_scanned=now.rows_scanned,
        queries=len(unique) + (1 if asked_for_start else 0),
        data_starts=data_starts,
        data_ends=data_ends,
    )
