"""Spend attributed to models the way `/ops model` counts their cost, as ordinary SpendSummaries,
so `/ops spend model:M`, `spend … by model` and the model's own page give one figure.

A model's spend (model_cost has the rules) = its share of every pipeline that trains or feeds it
(ops.yml lineage; 1/N of a pipeline shared by N models) + the spend tagged with the model outside
those pipelines (serving). Both parts are weighted sums of plain spend queries, so any grouping
(service, day, team, …) and any other filter (team, service, pipeline) carries over line by line.
By model, what no model carries is the `unallocated` line, so the lines add up to the total.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from bot.answers.deps import AnswerDeps
from bot.answers.model_cost import UNTAGGED, lineage_of, pipeline_share
from bot.ops_config import OpsConfig
from integrations.models import Partial, SourceProblem, SpendDimension, SpendLine, SpendQuery
from integrations.models import SpendSummary as Summary

Term = tuple[Decimal, SpendQuery]  # weight, query: a model's spend is a sum of these


async def attributed_spend(deps: AnswerDeps, query: SpendQuery) -> Partial[Summary]:
    """`sources.spend(query)`, except that a model filter or a by-model grouping counts what
    each model carries through lineage, as `/ops model` does, instead of its tag alone."""
    if query.model is not None:
        return await _model_spend(deps, query)
    if query.group_by is SpendDimension.model:
        return await _by_model(deps, query)
    return await deps.sources.spend(query)


def model_terms(config: OpsConfig, query: SpendQuery) -> list[Term]:
    """The weighted plain queries whose sum is the spend `query.model` carries: tagged with it,
    plus each lineage pipeline's share, minus the tagged spend already inside those pipelines."""
    assert query.model is not None
    untagged = query.model_copy(update={"model": None})
    terms: list[Term] = [(Decimal(1), query)]
    for pipeline, _role in lineage_of(config, query.model):
        if query.pipeline not in (None, pipeline):
            continue  # a pipeline filter leaves the other lineage pipelines out
        terms.append(
            (pipeline_share(config, pipeline), untagged.model_copy(update={"pipeline": pipeline}))
        )
        terms.append((Decimal(-1), query.model_copy(update={"pipeline": pipeline})))
    return terms


async def _model_spend(deps: AnswerDeps, query: SpendQuery) -> Partial[Summary]:
    by_model = query.group_by is SpendDimension.model
    # Grouping one model's spend by model is that one line; the parts are asked without it.
    inner = query.model_copy(update={"group_by": None}) if by_model else query
    terms = model_terms(deps.config, inner)
    unique = list(dict.fromkeys(q for _weight, q in terms))
    found = dict(
        zip(unique, await asyncio.gather(*(deps.sources.spend(q) for q in unique)), strict=True)
    )
    summary = combine(query, [(weight, found[q].value) for weight, q in terms])
    if by_model:
        lines = [
            SpendLine(key=query.model or "", cost=v, currency=c) for c, v in summary.totals.items()
        ]
        summary = summary.model_copy(update={"lines": _sorted(lines)})
    return Partial[Summary](value=summary, problems=_problems(found.values()))


async def _by_model(deps: AnswerDeps, query: SpendQuery) -> Partial[Summary]:
    """Every model's attributed spend in the scope of `query`, and `unallocated` for the rest."""
    config = deps.config
    pipelines = [
        p for p in config.lineage if config.models_fed_by(p) and query.pipeline in (None, p)
    ]
    asked = [query, *(query.model_copy(update={"pipeline": p}) for p in pipelines)]
    tagged, *inside = await asyncio.gather(*(deps.sources.spend(q) for q in asked))
    costs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in tagged.value.lines:
        if line.key != UNTAGGED:
            costs[(line.key, line.currency)] += line.cost
    for pipeline, within in zip(pipelines, inside, strict=True):
        fed = config.models_fed_by(pipeline)
        share = pipeline_share(config, pipeline)
        for line in within.value.lines:  # tagged spend inside the pipeline: counted by the share
            if line.key in fed:
                costs[(line.key, line.currency)] -= line.cost
        for currency, amount in within.value.totals.items():
            for model in fed:
                costs[(model, currency)] += share * amount
    for currency, total in tagged.value.totals.items():
        carried = sum((v for (_m, c), v in costs.items() if c == currency), Decimal(0))
        costs[(UNTAGGED, currency)] = total - carried
    lines = [SpendLine(key=k, cost=v, currency=c) for (k, c), v in costs.items() if v]
    summary = tagged.value.model_copy(update={"lines": _sorted(lines)})
    return Partial[Summary](value=summary, problems=_problems([tagged, *inside]))


def combine(query: SpendQuery, parts: Iterable[tuple[Decimal, Summary]]) -> Summary:
    """The weighted sum of spend summaries, line by line, day by day, per currency."""
    lines: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    daily: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    rows = 0
    for weight, summary in parts:
        for line in summary.lines:
            lines[(line.key, line.currency)] += weight * line.cost
        for currency, cost in summary.totals.items():
            totals[currency] += weight * cost
        for day, currency, cost in summary.daily:
            daily[(day, currency)] += weight * cost
        rows += summary.rows_scanned or 0
    return Summary(
        query=query,
        lines=_sorted(SpendLine(key=k, cost=v, currency=c) for (k, c), v in lines.items() if v),
        totals={c: v for c, v in totals.items() if v},
        daily=tuple((d, c, v) for (d, c), v in sorted(daily.items()) if v),
        rows_scanned=rows,
    )


def _sorted(lines: Iterable[SpendLine]) -> tuple[SpendLine, ...]:
    return tuple(sorted(lines, key=lambda line: (line.currency, -line.cost, line.key)))


def _problems(found: Iterable[Partial[Summary]]) -> tuple[SourceProblem, ...]:
    return tuple(dict.fromkeys(p for result in found for p in result.problems))
