"""What a model costs over a period: its training and feeding pipelines (ops.yml lineage) plus the
spend tagged with the model itself (serving), per currency, with the pipelines behind it.

How pipelines shared by several models are counted: a pipeline that trains or feeds N models
(ops.yml lineage) is split evenly, 1/N to each model. Its full cost is still reported (with the
models it is shared with), but only the model's share goes into `training` and `total`, so the
costs of all models add up to what the pipelines really cost instead of counting a shared
pipeline once per model.

Serving is the spend tagged with the model that is not already counted through one of its
lineage pipelines (a training job tagged with both the model and `churn_training` is training,
not serving). Model-tagged spend of a pipeline outside the lineage (an embeddings job, say) is
serving, listed by pipeline in `serving_pipelines`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from bot.answers.deps import AnswerDeps
from bot.ops_config import OpsConfig
from integrations.hub import gather_partial
from integrations.models import (
    Partial,
    SourceProblem,
    SpendDimension,
    SpendQuery,
    SpendSummary,
)

# How cost sources name spend without a value for a tag (FOCUS and AWS Cost Explorer alike).
UNTAGGED = "unallocated"

Money = dict[str, Decimal]  # currency -> amount; currencies are never added together


@dataclass(frozen=True)
class PipelineCost:
    """One pipeline behind a model: its full cost and the part counted for this model."""

    pipeline: str
    role: Literal["trains", "feeds"]
    cost: Money  # the whole pipeline's spend in the period
    shared_with: tuple[str, ...] = ()  # the other models it trains or feeds (ops.yml lineage)
    known: bool = True  # False when a cost source did not answer: `cost` is then incomplete

    @property
    def shared(self) -> bool:
        return bool(self.shared_with)

    @property
    def share(self) -> Decimal:
        """The fraction counted for this model: 1/N of a pipeline shared by N models."""
        return Decimal(1) / Decimal(1 + len(self.shared_with))

    @property
    def counted(self) -> Money:
        return {currency: amount * self.share for currency, amount in self.cost.items()}


@dataclass(frozen=True)
class ModelCost:
    model: str
    start: date
    end: date  # exclusive, like SpendQuery
    pipelines: tuple[PipelineCost, ...] = ()  # lineage order: training first, then feeding
    serving: Money = field(default_factory=dict)
    serving_pipelines: tuple[tuple[str, str, Decimal], ...] = ()  # (pipeline, currency, cost)
    problems: tuple[SourceProblem, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    @property
    def training(self) -> Money:
        """The counted share of every pipeline that trains or feeds the model."""
        return add(*(p.counted for p in self.pipelines))

    @property
    def total(self) -> Money:
        return add(self.training, self.serving)

    @property
    def shared_pipelines(self) -> tuple[PipelineCost, ...]:
        return tuple(p for p in self.pipelines if p.shared)

    @property
    def currencies(self) -> list[str]:
        return sorted(self.total)


def add(*amounts: Mapping[str, Decimal]) -> Money:
    """Sum per currency."""
    out: Money = {}
    for amount in amounts:
        for currency, value in amount.items():
            out[currency] = out.get(currency, Decimal(0)) + value
    return out


def lineage_of(config: OpsConfig, model: str) -> list[tuple[str, Literal["trains", "feeds"]]]:
    """The pipelines whose cost a model carries (a share of), training first, from ops.yml."""
    training = config.pipelines_training(model)
    feeding = [p for p in config.pipelines_feeding(model) if p not in training]
    return [(p, "trains") for p in training] + [(p, "feeds") for p in feeding]


def pipeline_share(config: OpsConfig, pipeline: str) -> Decimal:
    """The part of a pipeline's cost each model it trains or feeds carries: 1/N for N models."""
    models = config.models_fed_by(pipeline)
    return Decimal(1) / Decimal(len(models)) if models else Decimal(0)


async def model_cost(deps: AnswerDeps, model: str, *, start: date, end: date) -> ModelCost:
    """The cost of `model` over [start, end): every spend query runs concurrently; a cost
    source that does not answer leaves its part out and is named in `problems`."""
    lineage = lineage_of(deps.config, model)
    sources = deps.sources

    def spend(query: SpendQuery) -> Callable[[], Awaitable[Partial[SpendSummary]]]:
        return lambda: sources.spend(query)

    calls = {
        f"pipeline:{name}": spend(SpendQuery(start=start, end=end, pipeline=name))
        for name, _role in lineage
    }
    calls["model"] = spend(
        SpendQuery(start=start, end=end, model=model, group_by=SpendDimension.pipeline)
    )
    # Sources.spend already degrades per cost source; the outer timeout only guards a hang.
    found, crashed = await gather_partial(calls, timeout=sources.timeout * 2)
    problems: list[SourceProblem] = list(crashed)

    def answered(key: str) -> tuple[SpendSummary | None, bool]:
        """The summary of one call (None when it crashed) and whether every source answered."""
        result = found.get(key)
        if result is None:
            return None, False
        problems.extend(p for p in result.problems if p not in problems)
        return result.value, not result.problems

    pipelines = []
    for name, role in lineage:
        summary, complete = answered(f"pipeline:{name}")
        others = tuple(m for m in deps.config.models_fed_by(name) if m != model)
        pipelines.append(
            PipelineCost(
                pipeline=name,
                role=role,
                cost=dict(summary.totals) if summary else {},
                shared_with=others,
                known=complete,
            )
        )

    serving: Money = {}
    serving_pipelines: list[tuple[str, str, Decimal]] = []
    tagged, _complete = answered("model")
    in_lineage = {name for name, _role in lineage}
    for line in tagged.lines if tagged else ():
        if line.key in in_lineage:
            continue  # already counted (in full or shared) through the pipeline
        serving[line.currency] = serving.get(line.currency, Decimal(0)) + line.cost
        if line.key != UNTAGGED:
            serving_pipelines.append((line.key, line.currency, line.cost))

    return ModelCost(
        model=model,
        start=start,
        end=end,
        pipelines=tuple(pipelines),
        serving=serving,
        serving_pipelines=tuple(serving_pipelines),
        problems=tuple(problems),
    )
