"""Budget burn per team: spent month to date, month-end forecast, breach risk and what drives it."""

from __future__ import annotations

import asyncio
import calendar
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from bot.answers.coverage import cost_data
from bot.answers.deps import AnswerDeps
from bot.answers.model_spend import attributed_spend
from bot.ops_config import OpsConfig
from integrations.focus.analysis import daily_series, forecast_month_end, month_to_date
from integrations.focus.sql import UNALLOCATED
from integrations.models import (
    TAX_LINE,
    Budget,
    Partial,
    SourceProblem,
    SpendDimension,
    SpendQuery,
    SpendSummary,
)

TOP_SERVICES = 3
TOP_MODELS = 2


@dataclass(frozen=True)
class BudgetLine:
    team: str
    budget: Budget
    spent_mtd: Decimal  # in the budget's currency
    forecast: Decimal  # month-end, at the month-to-date run rate
    burn: float  # spent_mtd / monthly budget
    at_risk: bool  # the forecast reaches the budget
    drivers: list[tuple[str, Decimal]] = field(default_factory=list)  # biggest costs this month
    breach_on: date | None = None  # the day the run rate reaches the budget (or reached it)
    crossed: tuple[float, ...] = ()  # alert_at thresholds spend has already crossed
    will_cross: tuple[float, ...] = ()  # thresholds the forecast crosses by month end
    other_currencies: dict[str, Decimal] = field(default_factory=dict)  # not counted: never summed
    partial: bool = False  # the cost source did not (fully) answer: figures may be low

    @property
    def forecast_burn(self) -> float:
        return float(self.forecast / self.budget.monthly) if self.budget.monthly else 0.0

    @property
    def over(self) -> bool:
        return self.spent_mtd >= self.budget.monthly


@dataclass(frozen=True)
class BudgetBoard:
    lines: list[BudgetLine]  # at-risk first, then by burn
    problems: tuple[SourceProblem, ...]
    today: date
    without_budget: tuple[str, ...] = ()  # teams in ops.yml that have no monthly budget
    measure: str = ""  # the cost column summed ("EffectiveCost"), "" when the sources cannot say
    data_ends: date | None = None  # the last day of cost data, when it is before `today`

    @property
    def at_risk(self) -> list[BudgetLine]:
        return [line for line in self.lines if line.at_risk]

    @property
    def month_label(self) -> str:
        return f"{calendar.month_name[self.today.month]} {self.today.year}"


def daily_pace(budget: Budget, day: date) -> Decimal:
    """The spend per day that uses exactly the monthly budget in `day`'s month."""
    return budget.monthly / calendar.monthrange(day.year, day.month)[1]


def breach_date(daily: Mapping[date, Decimal], monthly: Decimal, today: date) -> date | None:
    """The day this month's spend reaches `monthly`: the day it did, or the day the
    month-to-date run rate (as forecast_month_end computes it) gets there; None if not this month.
    """
    month_start = today.replace(day=1)
    days = sorted(d for d in daily if month_start <= d <= today)
    total = Decimal(0)
    for day in days:
        total += daily[day]
        if total >= monthly:
            return day
    if not days or total <= 0:
        return None
    last = days[-1]
    rate = total / last.day
    ahead = math.ceil((monthly - total) / rate)
    breach = last + timedelta(days=ahead)
    return breach if breach.month == today.month and breach.year == today.year else None


def budget_line(
    budget: Budget,
    summary: SpendSummary,
    today: date,
    *,
    drivers: Sequence[tuple[str, Decimal]] = (),
    partial: bool = False,
) -> BudgetLine:
    """A team's burn from its month-to-date spend summary (pure: no I/O)."""
    currency = budget.currency
    month_start = today.replace(day=1)
    # Month to date from the daily series, so a summary of a longer period (30d) serves too.
    in_month: dict[str, Decimal] = {}
    for day, cur, cost in summary.daily:
        if month_start <= day <= today:
            in_month[cur] = in_month.get(cur, Decimal(0)) + cost
    daily = daily_series(summary, currency)
    spent = in_month.get(currency, Decimal(0))
    forecast = forecast_month_end(daily, today)
    monthly = budget.monthly
    crossed = tuple(f for f in budget.alert_at if spent >= monthly * Decimal(str(f)))
    will_cross = tuple(
        f for f in budget.alert_at if f not in crossed and forecast >= monthly * Decimal(str(f))
    )
    return BudgetLine(
        team=budget.team,
        budget=budget,
        spent_mtd=spent,
        forecast=forecast,
        burn=float(spent / monthly) if monthly else 0.0,
        at_risk=forecast >= monthly,
        drivers=list(drivers),
        breach_on=breach_date(daily, monthly, today),
        crossed=crossed,
        will_cross=will_cross,
        other_currencies={c: v for c, v in in_month.items() if c != currency and v},
        partial=partial,
    )


def configured_budgets(config: OpsConfig) -> list[Budget]:
    """Budgets as ops.yml states them (when no budget store is wired, e.g. in `switchboard ask`)."""
    return sorted(
        (
            Budget(
                team=team,
                monthly=Decimal(str(b.monthly)),
                currency=b.currency or config.workspace.currency,
                alert_at=tuple(b.alert_at),
            )
            for team, b in config.budgets.items()
        ),
        key=lambda b: b.team,
    )


async def _budgets(deps: AnswerDeps) -> list[Budget]:
    if deps.budgets is None:
        return configured_budgets(deps.config)
    return await deps.budgets.budgets()


def _top(
    summary: SpendSummary, currency: str, n: int, prefix: str = ""
) -> list[tuple[str, Decimal]]:
    lines = [
        line
        for line in summary.lines
        if line.currency == currency
        and line.cost > 0
        and line.key not in (UNALLOCATED, "unknown", TAX_LINE)
    ]
    lines.sort(key=lambda line: (-line.cost, line.key))
    return [(prefix + line.key, line.cost) for line in lines[:n]]


def _mtd(deps: AnswerDeps, team: str, by: SpendDimension) -> SpendQuery:
    start, end = month_to_date(deps.today)
    return SpendQuery(start=start, end=end, team=team, group_by=by)


async def team_burns(
    deps: AnswerDeps, budgets: Sequence[Budget], *, drivers_for_all: bool = False
) -> tuple[list[BudgetLine], tuple[SourceProblem, ...]]:
    """Burn lines for `budgets`: every team's month to date at once, then the models behind the
    teams at risk (or behind every team with `drivers_for_all`)."""
    by_service = await asyncio.gather(
        *(deps.sources.spend(_mtd(deps, b.team, SpendDimension.service)) for b in budgets)
    )
    needs_models = [
        i
        for i, (b, found) in enumerate(zip(budgets, by_service, strict=True))
        if drivers_for_all or budget_line(b, found.value, deps.today).at_risk
    ]
    by_model: dict[int, Partial[SpendSummary]] = dict(
        zip(
            needs_models,
            await asyncio.gather(
                *(
                    attributed_spend(deps, _mtd(deps, budgets[i].team, SpendDimension.model))
                    for i in needs_models
                )
            ),
            strict=True,
        )
    )
    lines: list[BudgetLine] = []
    problems: list[SourceProblem] = []
    for i, (budget, found) in enumerate(zip(budgets, by_service, strict=True)):
        drivers = _top(found.value, budget.currency, TOP_SERVICES)
        models = by_model.get(i)
        if models is not None:
            drivers += _top(models.value, budget.currency, TOP_MODELS, prefix="model ")
            problems += models.problems
        problems += found.problems
        lines.append(
            budget_line(budget, found.value, deps.today, drivers=drivers, partial=found.partial)
        )
    return lines, tuple(dict.fromkeys(problems))


def _ordered(lines: list[BudgetLine]) -> list[BudgetLine]:
    return sorted(lines, key=lambda line: (not line.at_risk, -line.forecast_burn, line.team))


async def budget_board(deps: AnswerDeps, *, team: str | None = None) -> BudgetBoard:
    """Every team's budget (or `team`'s, a known slug) with burn, forecast and breach risk."""
    budgets = [b for b in await _budgets(deps) if team is None or b.team == team]
    (lines, problems), (data, _coverage) = await asyncio.gather(
        team_burns(deps, budgets, drivers_for_all=team is not None), cost_data(deps)
    )
    with_budget = {b.team for b in budgets}
    asked = [team] if team is not None else list(deps.config.teams)
    without = tuple(t for t in asked if t not in with_budget)
    ends = data.last_day if data.last_day is not None and data.last_day < deps.today else None
    return BudgetBoard(
        _ordered(lines),
        problems,
        deps.today,
        without_budget=without,
        measure=data.measure,
        data_ends=ends,
    )
