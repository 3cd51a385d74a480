"""Cost of a model (training pipelines + serving) over the demo company, checked against direct
spend queries: shared pipelines are split, nothing is counted twice, totals equal their parts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from bot.answers.deps import AnswerDeps
from bot.answers.model_cost import ModelCost, add, model_cost
from integrations.errors import SourceUnavailable
from integrations.hub import Sources
from integrations.models import SpendQuery, SpendSummary

START, END = date(2026, 11, 1), date(2026, 11, 24)  # November so far, in the workspace zone
CENT = Decimal("0.000001")


async def cost(deps: AnswerDeps, model: str) -> ModelCost:
    return await model_cost(deps, model, start=START, end=END)


async def direct(deps: AnswerDeps, **filters: str) -> dict[str, Decimal]:
    found = await deps.sources.spend(SpendQuery(start=START, end=END, **filters))
    assert not found.problems
    return dict(found.value.totals)


async def test_churn_training_counts_churn_training_pipeline_in_full(deps):
    churn = await cost(deps, "churn")
    by_name = {p.pipeline: p for p in churn.pipelines}
    training = by_name["churn_training"]
    assert training.role == "trains" and not training.shared
    assert training.cost == await direct(deps, pipeline="churn_training")
    assert training.counted == training.cost and training.cost["USD"] > 0


async def test_churn_serving_is_its_tagged_spend_outside_its_lineage_pipelines(deps):
    churn = await cost(deps, "churn")
    tagged = await direct(deps, model="churn")
    in_lineage = [await direct(deps, model="churn", pipeline=p.pipeline) for p in churn.pipelines]
    expected = tagged["USD"] - add(*in_lineage).get("USD", Decimal(0))
    assert churn.serving["USD"] > 0
    assert abs(churn.serving["USD"] - expected) < CENT


async def test_totals_equal_the_sum_of_their_parts(deps):
    for name in ("churn", "recs", "ltv"):
        found = await cost(deps, name)
        counted = add(*(p.counted for p in found.pipelines))
        assert found.training == counted
        for currency in found.currencies:
            assert found.total[currency] == found.training[currency] + found.serving[currency]


async def test_shared_feed_pipeline_is_shown_in_full_and_split_evenly(deps):
    churn = await cost(deps, "churn")
    nightly = next(p for p in churn.pipelines if p.pipeline == "nightly_orders")
    assert nightly.role == "feeds" and set(nightly.shared_with) == {"ltv", "recs"}
    assert nightly.cost == await direct(deps, pipeline="nightly_orders")
    assert abs(nightly.counted["USD"] * 3 - nightly.cost["USD"]) < CENT
    assert nightly in churn.shared_pipelines


async def test_a_shared_pipeline_is_counted_once_across_the_models_it_feeds(deps):
    fed = deps.config.models_fed_by("nightly_orders")
    shares = []
    for name in fed:
        found = await cost(deps, name)
        shares.append(next(p for p in found.pipelines if p.pipeline == "nightly_orders").counted)
    whole = await direct(deps, pipeline="nightly_orders")
    assert abs(add(*shares)["USD"] - whole["USD"]) < CENT


async def test_model_tagged_spend_of_a_pipeline_outside_lineage_is_serving_and_named(deps):
    recs = await cost(deps, "recs")
    named = {pipeline for pipeline, _currency, _cost in recs.serving_pipelines}
    assert "recs_embeddings" in named and "recs_training" not in named
    embeddings = await direct(deps, model="recs", pipeline="recs_embeddings")
    assert recs.serving["USD"] > embeddings["USD"] > 0


async def test_model_without_lineage_costs_only_its_serving(deps):
    guard = await cost(deps, "anomaly_guard")
    assert guard.pipelines == () and guard.training == {}
    assert guard.total == guard.serving == await direct(deps, model="anomaly_guard")


class DownCosts:
    name = "focus"

    async def spend(self, query: SpendQuery) -> SpendSummary:
        raise SourceUnavailable(self.name, "cannot read the export", "check the bucket")


async def test_down_cost_source_gives_a_partial_cost_that_says_so(deps):
    demo = deps.sources
    down = Sources(
        pipelines=list(demo.pipelines.values()),
        registries=list(demo.registries.values()),
        metrics=list(demo.metrics.values()),
        costs=[DownCosts()],
        timeout=0.3,
    )
    found = await cost(replace(deps, sources=down), "churn")
    assert found.partial and [p.source for p in found.problems] == ["focus"]
    assert found.total == {} and found.pipelines and not any(p.known for p in found.pipelines)
