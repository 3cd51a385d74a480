"""`/ops status team:T`: one team across the three domains, side by side: its pipelines, its
models' health, its spend against budget with the month-end forecast, and its open incidents.

Every part is read concurrently; a part whose source did not answer is marked partial.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.answers.budgets import BudgetLine, budget_line, configured_budgets
from bot.answers.deps import AnswerDeps
from bot.answers.incidents import incident_list
from bot.answers.pipelines import PipelineBoard, merge_problems, pipeline_board
from bot.store.models import Incident
from integrations.focus.analysis import (
    daily_series,
    forecast_month_end,
    main_currency,
    month_to_date,
)
from integrations.models import (
    Budget,
    Model,
    ModelHealth,
    Partial,
    SourceProblem,
    SpendQuery,
    SpendSummary,
)

ModelRow = tuple[Model, ModelHealth | None]


@dataclass(frozen=True)
class TeamSpend:
    """Month to date: against the budget when the team has one, else spend and forecast alone."""

    currency: str
    spent_mtd: Decimal
    forecast: Decimal
    budget: BudgetLine | None
    partial: bool = False


@dataclass(frozen=True)
class TeamScorecard:
    team: str  # slug
    name: str  # display name
    channel: str
    pipelines: PipelineBoard
    models: list[ModelRow]  # unhealthy first, then by name
    spend: TeamSpend
    incidents: list[Incident]
    today: date
    problems: tuple[SourceProblem, ...] = ()

    @property
    def unhealthy_models(self) -> list[ModelRow]:
        return [row for row in self.models if row[1] is not None and not row[1].healthy]

    @property
    def partial(self) -> bool:
        return bool(self.problems)


async def team_models(deps: AnswerDeps, team: str) -> Partial[list[ModelRow]]:
    """The team's registered models with their health, unhealthy first."""
    found = await deps.sources.all_models()
    mine = [m for m in found.value if deps.config.team_of_model(m.name) == team]
    healths = await asyncio.gather(*(deps.sources.model_health(m.name) for m in mine))
    rows: list[ModelRow] = [(m, h.value) for m, h in zip(mine, healths, strict=True)]
    rows.sort(key=lambda row: (row[1] is None or row[1].healthy, row[0].name))
    problems = merge_problems(found.problems, *(h.problems for h in healths))
    return Partial[list[ModelRow]](value=rows, problems=problems)


async def team_budget(deps: AnswerDeps, team: str) -> Budget | None:
    """The team's monthly budget: stored (raised by approval) over ops.yml's figure."""
    if deps.budgets is not None:
        return await deps.budgets.budget(team)
    return next((b for b in configured_budgets(deps.config) if b.team == team), None)


def team_spend(
    summary: SpendSummary, budget: Budget | None, today: date, *, partial: bool
) -> TeamSpend:
    if budget is not None:
        line = budget_line(budget, summary, today, partial=partial)
        return TeamSpend(budget.currency, line.spent_mtd, line.forecast, line, partial)
    currency = main_currency(summary)
    daily = daily_series(summary, currency)
    spent = sum((v for d, v in daily.items() if d.month == today.month), Decimal(0))
    return TeamSpend(currency, spent, forecast_month_end(daily, today), None, partial)


async def team_scorecard(deps: AnswerDeps, team: str) -> TeamScorecard:
    """The scorecard of `team`, a known slug (resolve what the user typed with resolve_team)."""
    start, end = month_to_date(deps.today)
    board, models, spend, budget, incidents = await asyncio.gather(
        pipeline_board(deps, team=team),
        team_models(deps, team),
        deps.sources.spend(SpendQuery(start=start, end=end, team=team)),
        team_budget(deps, team),
        incident_list(deps, team=team),
    )
    config = deps.config.teams.get(team)
    return TeamScorecard(
        team=team,
        name=(config.name if config else None) or team,
        channel=config.channel if config else "",
        pipelines=board,
        models=models.value,
        spend=team_spend(spend.value, budget, deps.today, partial=spend.partial),
        incidents=incidents,
        today=deps.today,
        problems=merge_problems(board.problems, models.problems, spend.problems),
    )
