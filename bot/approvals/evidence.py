"""What an approver needs to decide: metrics, serving health and cost for a promotion; burn,
forecast and what drove the spend for a budget increase.

Every read goes through the sources hub, so a source that is down or slow leaves its part empty
and is named in `problems` (the card shows a partial note) instead of breaking the card.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.answers.budgets import budget_line, configured_budgets
from bot.answers.deps import AnswerDeps
from bot.answers.model_cost import model_cost
from bot.approvals.types import BudgetSubject, PromotionSubject, RequestSnapshot
from integrations.focus.analysis import Mover, month_to_date, top_movers
from integrations.hub import gather_partial
from integrations.models import (
    Budget,
    ModelHealth,
    ModelVersion,
    Partial,
    SourceProblem,
    SpendDimension,
    SpendQuery,
)

COST_DAYS = 30
MOVERS = 3
CHAMPION = "champion"  # the alias of the version serving production traffic
# Version tags whose change moves serving cost (the machine or the size of what is served).
COST_TAGS = ("instance_type", "instance_count", "gpu", "accelerator", "replicas", "serving_size")
# Metrics (of the version's run) that serving cost scales with, roughly linearly.
SIZE_METRICS = ("model_size_mb", "model_size", "num_params", "params", "parameters")


@dataclass(frozen=True)
class PromotionEvidence:
    model: str
    candidate: ModelVersion | None  # None when the registry did not answer
    current: ModelVersion | None  # the version the alias points at now
    health: ModelHealth | None  # serving health of the model now
    serving: dict[str, Decimal]  # serving spend over the last COST_DAYS days, per currency
    cost_days: int
    cost_change: str  # what the metadata says about the serving cost after the promotion
    problems: tuple[SourceProblem, ...] = ()
    # The champion, when it is neither the version the alias points at nor the candidate (a
    # promotion to staging or challenger is still judged against what serves today).
    champion: ModelVersion | None = None


@dataclass(frozen=True)
class BudgetEvidence:
    team: str
    budget: Budget | None
    spent_mtd: Decimal
    forecast: Decimal  # month end at the month-to-date run rate
    compared_with: str  # "the same days of October"
    services: tuple[Mover, ...] = ()  # biggest movers this month vs the same days last month
    models: tuple[Mover, ...] = ()
    pipelines: tuple[Mover, ...] = ()
    problems: tuple[SourceProblem, ...] = ()


Evidence = PromotionEvidence | BudgetEvidence


def _unique(*groups: tuple[SourceProblem, ...]) -> tuple[SourceProblem, ...]:
    return tuple(dict.fromkeys(p for g in groups for p in g))


# -- promotion ----------------------------------------------------------------------------------
async def registry_versions(deps: AnswerDeps, model: str) -> Partial[list[ModelVersion]]:
    """Versions from the first registry (configuration order) that knows the model."""
    registries = deps.sources.registries

    def call(key: str) -> Callable[[], Awaitable[list[ModelVersion]]]:
        return lambda: registries[key].versions(model)

    found, problems = await gather_partial(
        {k: call(k) for k in registries}, timeout=deps.sources.timeout
    )
    versions = next((found[k] for k in registries if found.get(k)), [])
    return Partial[list[ModelVersion]](value=list(versions), problems=problems)


def _ratio_text(name: str, new: float, old: float) -> str | None:
    if old <= 0 or new == old:
        return None
    change = (new - old) / old
    return f"{name} {old:g} → {new:g} ({change * 100:+.0f}%)"


def expected_cost_change(
    candidate: ModelVersion | None, current: ModelVersion | None, serving: dict[str, Decimal]
) -> str:
    """What the versions' metadata predicts about serving cost; says so when it predicts nothing.

    Only tags that name the serving machine and metrics that measure the model's size count:
    anything else (accuracy, a new framework version) says nothing about cost.
    """
    if candidate is None or current is None:
        return "no cost change expected from metadata (no version to compare with)"
    changed_tags = [
        f"{key} {current.tags.get(key, '—')} → {candidate.tags.get(key, '—')}"
        for key in COST_TAGS
        if candidate.tags.get(key) != current.tags.get(key)
    ]
    sizes = [
        (name, candidate.metrics[name], current.metrics[name])
        for name in SIZE_METRICS
        if name in candidate.metrics and name in current.metrics
    ]
    size_text = [t for name, new, old in sizes if (t := _ratio_text(name, new, old))]
    if not changed_tags and not size_text:
        return "no cost change expected from metadata"
    parts = changed_tags + size_text
    estimate = ""
    if sizes and not changed_tags and serving:
        name, new, old = sizes[0]
        if old > 0 and new != old:
            factor = Decimal(str(new / old))
            estimate = (
                "; at today's traffic about "
                + ", ".join(
                    f"{(amount * factor).quantize(Decimal('0.01'))} {currency}"
                    for currency, amount in sorted(serving.items())
                )
                + f" per {COST_DAYS} days (scales with {name})"
            )
    return "serving may cost more or less: " + "; ".join(parts) + estimate


async def promotion_evidence(deps: AnswerDeps, subject: PromotionSubject) -> PromotionEvidence:
    end = deps.today + timedelta(days=1)
    start = end - timedelta(days=COST_DAYS)
    versions, health, cost = await asyncio.gather(
        registry_versions(deps, subject.model),
        deps.sources.model_health(subject.model),
        model_cost(deps, subject.model, start=start, end=end),
    )
    by_version = {v.version: v for v in versions.value}
    candidate = by_version.get(subject.version)
    current = by_version.get(subject.current_version or "")
    champion = next((v for v in versions.value if CHAMPION in v.aliases), None)
    if champion is not None and champion.version in (subject.version, subject.current_version):
        champion = None
    serving = dict(cost.serving)
    return PromotionEvidence(
        model=subject.model,
        candidate=candidate,
        current=current,
        health=health.value,
        serving=serving,
        cost_days=COST_DAYS,
        cost_change=expected_cost_change(candidate, current or champion, serving),
        problems=_unique(versions.problems, health.problems, cost.problems),
        champion=champion,
    )


# -- budget increase ----------------------------------------------------------------------------
def same_days_last_month(today: date) -> tuple[date, date]:
    """[first of last month, the same day-of-month + 1): month to date, a month earlier."""
    first = today.replace(day=1)
    last_start = (first - timedelta(days=1)).replace(day=1)
    return last_start, min(last_start + timedelta(days=today.day), first)


async def _budget(deps: AnswerDeps, team: str) -> Budget | None:
    if deps.budgets is not None:
        return await deps.budgets.budget(team)
    return next((b for b in configured_budgets(deps.config) if b.team == team), None)


async def budget_evidence(deps: AnswerDeps, subject: BudgetSubject) -> BudgetEvidence:
    today = deps.today
    now_start, now_end = month_to_date(today)
    then_start, then_end = same_days_last_month(today)
    dims = (SpendDimension.service, SpendDimension.model, SpendDimension.pipeline)
    queries = [
        SpendQuery(start=s, end=e, team=subject.team, group_by=d)
        for d in dims
        for s, e in ((now_start, now_end), (then_start, then_end))
    ]
    budget, found = await asyncio.gather(
        _budget(deps, subject.team), asyncio.gather(*(deps.sources.spend(q) for q in queries))
    )
    currency = budget.currency if budget else subject.currency
    movers: list[tuple[Mover, ...]] = []
    for i in range(len(dims)):
        now, then = found[2 * i].value, found[2 * i + 1].value
        movers.append(tuple(top_movers(now, then, MOVERS, currency=currency)))
    by_service = found[0].value
    line = budget_line(budget, by_service, today) if budget else None
    month = then_start.strftime("%B")
    return BudgetEvidence(
        team=subject.team,
        budget=budget,
        spent_mtd=line.spent_mtd if line else by_service.totals.get(currency, Decimal(0)),
        forecast=line.forecast if line else Decimal(0),
        compared_with=f"the same days of {month}",
        services=movers[0],
        models=movers[1],
        pipelines=movers[2],
        problems=_unique(*(f.problems for f in found)),
    )


async def evidence_for(deps: AnswerDeps, snapshot: RequestSnapshot) -> Evidence:
    subject = snapshot.subject
    if isinstance(subject, PromotionSubject):
        return await promotion_evidence(deps, subject)
    return await budget_evidence(deps, subject)
