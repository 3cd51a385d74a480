"""Spend detectors: a team's month-end forecast reaching its budget, and a day's spend that jumps
against the day before or against the rolling baseline (per team, and per model's serving).

Days are the workspace zone's. The anomaly detector judges the last complete day (yesterday):
today's figures are still arriving. Only increases count; an increase smaller than
`min_increase` never does, however many percent or σ it is.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.answers.budgets import budget_board
from bot.answers.deps import AnswerDeps
from bot.answers.model_cost import lineage_of
from bot.incidents.alerts import Severity, Subject, SubjectKind
from bot.incidents.detectors.base import Collected, Findings, firing
from bot.ops_config.incidents import SpendAnomalyDetector
from bot.views.format import money
from integrations.focus.analysis import daily_series
from integrations.models import Partial, SpendQuery, SpendSummary

BUDGET = "budget_breach"
ANOMALY = "spend_anomaly"
MIN_BASELINE_DAYS = 7  # fewer days of data than this: no baseline to be anomalous against


def budget_key(team: str) -> str:
    return f"budget:team:{team}:forecast"


async def budget_breaches(deps: AnswerDeps) -> Findings:
    """One alert per team whose month-end forecast reaches its monthly budget (critical once
    spend has passed it)."""
    board = await budget_board(deps)
    found = Collected()
    found.add_problems(board.problems)
    for line in board.at_risk:
        cur = line.budget.currency
        budget = money(line.budget.monthly, cur)
        if line.over:
            title = f"{line.team} is over its {budget} budget"
            severity = Severity.critical
        else:
            title = f"{line.team} is forecast to exceed its {budget} budget"
            severity = Severity.warning
        summary = (
            f"Spent {money(line.spent_mtd, cur)} ({line.burn:.0%}) in {board.month_label}; "
            f"forecast {money(line.forecast, cur)} ({line.forecast_burn:.0%}) by month end"
        )
        if line.breach_on is not None:
            reached = "reached it" if line.over else "reaches it"
            summary += f"; {reached} on {line.breach_on:%b %d}"
        summary += "."
        if line.drivers:
            top = ", ".join(f"{name} {money(cost, cur)}" for name, cost in line.drivers[:3])
            summary += f" Biggest costs: {top}."
        found.firing.append(
            firing(
                BUDGET,
                budget_key(line.team),
                title,
                now=deps.now,
                summary=summary,
                severity=severity,
                subject=Subject(SubjectKind.team, line.team),
                labels={"team": line.team},
            )
        )
    return found.findings()


# -- anomalies ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Anomaly:
    day: date
    spent: Decimal
    currency: str
    reasons: tuple[str, ...]  # "+$412 (+180%) vs the day before", "3.4σ above the 28-day mean"


def _pct(now: Decimal, before: Decimal) -> float | None:
    return float((now - before) / before * 100) if before > 0 else None


def _up(now: Decimal, before: Decimal, rule: SpendAnomalyDetector) -> bool:
    """Up by at least min_increase and day_over_day_pct on `before`."""
    if now - before < Decimal(str(rule.min_increase)) or now <= before:
        return False
    change = _pct(now, before)
    return change is None or change >= rule.day_over_day_pct


def anomaly(
    series: Mapping[date, Decimal], day: date, currency: str, rule: SpendAnomalyDetector
) -> Anomaly | None:
    """Whether `day`'s spend in `series` is anomalous, and why (pure).

    Day over day: up by `day_over_day_pct` and `min_increase` on the day before, unless the same
    weekday a week earlier was as high (a weekly job's run day is not news). Rolling baseline:
    `threshold_sigma` standard deviations (and `min_increase`) above the mean of the
    `baseline_days` before it; days before the first day with data are not counted.
    """
    spent = series.get(day, Decimal(0))
    if spent <= 0:
        return None
    reasons: list[str] = []
    before = series.get(day - timedelta(days=1), Decimal(0))
    week_ago = series.get(day - timedelta(days=7))
    if _up(spent, before, rule) and (week_ago is None or _up(spent, week_ago, rule)):
        change = _pct(spent, before)
        shown = f" ({change:+.0f}%)" if change is not None else f" (from {money(0, currency)})"
        reasons.append(f"+{money(spent - before, currency)}{shown} vs the day before")
    first = min((d for d, cost in series.items() if cost), default=day)
    baseline = [
        series.get(d, Decimal(0))
        for n in range(1, rule.baseline_days + 1)
        if (d := day - timedelta(days=n)) >= first
    ]
    if len(baseline) >= MIN_BASELINE_DAYS:
        values = [float(v) for v in baseline]
        mean, sigma = statistics.fmean(values), statistics.pstdev(values)
        excess = float(spent) - mean
        if excess >= rule.min_increase:
            days = len(baseline)
            where = f"the {days}-day mean ({money(Decimal(str(round(mean, 2))), currency)})"
            if sigma == 0:
                reasons.append(f"+{money(Decimal(str(round(excess, 2))), currency)} above {where}")
            elif (z := excess / sigma) >= rule.threshold_sigma and math.isfinite(z):
                reasons.append(f"{z:.1f}σ above {where}")
    if not reasons:
        return None
    return Anomaly(day=day, spent=spent, currency=currency, reasons=tuple(reasons))


@dataclass(frozen=True)
class Scope:
    key: str  # spend:team:<team>:anomaly, spend:model:<model>:anomaly
    label: str  # "ml-platform", "churn's serving"
    subject: Subject
    labels: Mapping[str, str | None]
    add: tuple[SpendQuery, ...]  # the scope's spend is the sum of these ...
    subtract: tuple[SpendQuery, ...] = ()  # ... minus these


def scopes(deps: AnswerDeps, models: Sequence[str], start: date, end: date) -> list[Scope]:
    """Every team of ops.yml, and the serving of every model: the spend tagged with the model
    outside the pipelines that train or feed it (ops.yml lineage)."""
    found = [
        Scope(
            key=f"spend:team:{team}:anomaly",
            label=team,
            subject=Subject(SubjectKind.team, team),
            labels={"team": team},
            add=(SpendQuery(start=start, end=end, team=team),),
        )
        for team in deps.config.teams
    ]
    for model in models:
        tagged = SpendQuery(start=start, end=end, model=model)
        found.append(
            Scope(
                key=f"spend:model:{model}:anomaly",
                label=f"{model}'s serving",
                subject=Subject(SubjectKind.service, model),
                labels={"model": model, "team": deps.config.team_of_model(model)},
                add=(tagged,),
                subtract=tuple(
                    tagged.model_copy(update={"pipeline": p})
                    for p, _role in lineage_of(deps.config, model)
                ),
            )
        )
    return found


def _series(
    scope: Scope, found: Mapping[SpendQuery, Partial[SpendSummary]], currency: str
) -> dict[date, Decimal]:
    total: dict[date, Decimal] = {}
    for sign, queries in ((1, scope.add), (-1, scope.subtract)):
        for query in queries:
            for day, cost in daily_series(found[query].value, currency).items():
                total[day] = total.get(day, Decimal(0)) + sign * cost
    return total


async def spend_anomalies(deps: AnswerDeps) -> Findings:
    """One alert per team or model serving whose spend yesterday was anomalous."""
    rule = deps.config.incidents.detectors.spend_anomaly
    currency = deps.config.workspace.currency
    day = deps.today - timedelta(days=1)
    start, end = day - timedelta(days=rule.baseline_days), day + timedelta(days=1)
    models = await deps.sources.all_models()
    found = Collected()
    found.add_problems(models.problems)
    checked = scopes(deps, [m.name for m in models.value], start, end)
    queries = list(dict.fromkeys(q for s in checked for q in (*s.add, *s.subtract)))
    answers = dict(
        zip(queries, await asyncio.gather(*(deps.sources.spend(q) for q in queries)), strict=True)
    )
    for answer in answers.values():
        found.add_problems(answer.problems)
    for scope in checked:
        seen = anomaly(_series(scope, answers, currency), day, currency, rule)
        if seen is None:
            continue
        found.firing.append(
            firing(
                ANOMALY,
                scope.key,
                f"Spend anomaly: {scope.label} spent {money(seen.spent, currency)} on {day:%b %d}",
                now=deps.now,
                summary="; ".join(seen.reasons) + ".",
                severity=Severity.warning,
                subject=scope.subject,
                labels=scope.labels,
            )
        )
    return found.findings()
