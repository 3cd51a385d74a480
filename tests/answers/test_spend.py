"""`/ops spend` answers over the demo company, checked against the sources queried directly."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.answers.entities import Unknown
from bot.answers.model_cost import model_cost
from bot.answers.models import model_detail
from bot.answers.spend import SpendAnswer, spend_answer
from bot.commands.context import AskContext
from bot.router import build_router
from bot.views.spend import render_spend
from integrations.errors import SourceUnavailable
from integrations.hub import Sources
from integrations.models import SpendDimension, SpendQuery, SpendSummary
from tests.e2e.answers import texts
from tests.e2e.conftest import DEMO_NOW as NOW

BERLIN = ZoneInfo("Europe/Berlin")


async def answer(deps, **kwargs) -> SpendAnswer:
    found = await spend_answer(deps, **kwargs)
    assert isinstance(found, SpendAnswer), getattr(found, "message", found)
    return found


async def test_team_lines_by_service_add_up_to_the_total_a_direct_query_reports(deps):
    found = await answer(deps, team="ml-platform", period="30d", group_by="service")
    direct = await deps.sources.spend(
        SpendQuery(start=date(2026, 10, 25), end=date(2026, 11, 24), team="ml-platform")
    )
    total = found.total
    assert total is not None and total.currency == "USD"
    assert total.current == direct.value.totals["USD"]
    assert sum(line.cost for line in found.lines) == total.current
    assert [line.key for line in found.lines][0] == "Amazon SageMaker"
    assert not found.problems


async def test_trend_compares_with_the_30_days_before(deps):
    found = await answer(deps, team="ml-platform", period="30d")
    before = await deps.sources.spend(
        SpendQuery(start=date(2026, 9, 25), end=date(2026, 10, 25), team="ml-platform")
    )
    total = found.total
    assert total is not None and total.previous == before.value.totals["USD"]
    assert total.change == pytest.approx(float(total.current / total.previous - 1))
    assert total.change > 0  # the demo's GPU jump


async def test_team_in_scope_brings_its_budget_burn_and_ml_platform_is_over(deps):
    found = await answer(deps, team="ml", period="7d")  # "ml" is enough: one team starts so
    assert found.scope.team == "ml-platform"
    assert found.budget is not None
    assert found.budget.budget.monthly == Decimal(60000)
    assert found.budget.forecast > Decimal(60000) and found.budget.at_risk
    assert found.forecast is not None  # the scope is the team: the same month-end forecast
    assert found.forecast == found.budget.forecast


CENT = Decimal("0.01")


async def test_by_model_lines_are_what_each_model_carries_and_add_up_to_the_total(deps):
    found = await answer(deps, period="30d", group_by="model")
    start, end = found.period.start, found.period.end
    models = [line for line in found.lines if line.key != "unallocated"]
    assert {"recs", "churn", "ltv", "fraud"} <= {line.key for line in models}
    for line in models:  # the same figure `/ops model NAME` shows as its cost
        carried = await model_cost(deps, line.key, start=start, end=end)
        assert abs(line.cost - carried.total["USD"]) < CENT, line.key
    assert abs(sum(line.cost for line in found.lines) - found.total.current) < CENT
    unallocated = next(line for line in found.lines if line.key == "unallocated")
    assert Decimal(0) < unallocated.cost < found.total.current
    assert found.movers and found.movers_by is SpendDimension.model
    assert found.movers[0].key == "recs"  # the GPU jump moved recs most


def _lineage_weight(tags: dict[str, str], model: str, config) -> Decimal:  # type: ignore[no-untyped-def]
    """How much of one bill row the model carries: its share of a lineage pipeline's row, all
    of a row tagged with the model elsewhere (serving), nothing otherwise."""
    pipeline = tags.get("pipeline")
    fed = config.models_fed_by(pipeline) if pipeline else []
    if model in fed:
        return Decimal(1) / Decimal(len(fed))
    return Decimal(1) if tags.get("model") == model else Decimal(0)


async def test_model_spend_month_to_date_matches_the_raw_focus_rows(deps, demo_services):
    found = await answer(deps, model="churn", period="mtd")
    demo = demo_services.sources.costs["demo"].inner
    columns = demo.spend_columns()
    expected = tagged_only = Decimal(0)
    for tags, start, cost in zip(
        columns["Tags"], columns["ChargePeriodStart"], columns["EffectiveCost"], strict=True
    ):
        local_day = start.astimezone(BERLIN).date()
        if tags and date(2026, 11, 1) <= local_day <= date(2026, 11, 23):
            parsed = json.loads(tags)
            expected += _lineage_weight(parsed, "churn", deps.config) * Decimal(str(cost))
            tagged_only += Decimal(str(cost)) if parsed.get("model") == "churn" else 0
    total = found.total
    assert total is not None and expected > tagged_only > 0  # lineage counts more than the tag
    assert abs(total.current - expected) < CENT
    assert found.previous.start == date(2026, 10, 1) and found.previous.end == date(2026, 10, 24)


@pytest.mark.parametrize("model", ["churn", "recs", "ltv", "credit_risk"])
async def test_spend_of_a_model_is_the_cost_its_model_page_shows(deps, model):
    spent = await answer(deps, model=model, period="30d")
    page = await model_detail(deps, model)
    assert not isinstance(page, Unknown)
    assert spent.total is not None
    assert abs(spent.total.current - page.cost_30d.total["USD"]) < CENT
    by_model = await answer(deps, period="30d", group_by="model")
    line = next(line for line in by_model.lines if line.key == model)
    assert abs(line.cost - spent.total.current) < CENT


async def test_one_model_by_service_adds_up_to_its_attributed_total(deps):
    found = await answer(deps, model="churn", period="30d", group_by="service")
    assert abs(sum(line.cost for line in found.lines) - found.total.current) < CENT
    assert {"Amazon SageMaker", "Amazon EMR"} <= {line.key for line in found.lines}


async def test_the_answers_say_the_same_model_cost_in_slack(demo_services):
    router = build_router()
    ctx = AskContext(services=demo_services, now=NOW)
    spend_reply = await router.answer("spend model:churn 30d", ctx)
    model_reply = await router.answer("model churn", ctx)
    figure = spend_reply.text.split("*")[3]  # "*model churn* cost *$4,190* in …"
    assert figure.startswith("$")
    assert figure in json.dumps(model_reply.blocks)
    assert "training and feeding pipelines" in json.dumps(spend_reply.blocks)


async def test_days_grouping_lists_every_day_in_order(deps):
    found = await answer(deps, period="7d", group_by="day")
    assert [line.key for line in found.lines] == [f"2026-11-{d}" for d in range(17, 24)]
    assert sum(line.cost for line in found.lines) == found.totals[0].current
    assert found.movers_by is SpendDimension.service  # days do not move; services do
    assert found.forecast is not None and found.forecast > found.totals[0].current


async def test_a_service_name_is_matched_against_the_services_the_bill_reports(deps):
    found = await answer(deps, service="amazon s3", period="30d")
    assert found.scope.service == "Amazon S3"
    assert found.movers_by is SpendDimension.team


async def test_unknown_names_get_suggestions_and_never_reach_a_query(deps):
    model = await spend_answer(deps, model="chrun_v2_model")
    assert isinstance(model, Unknown) and model.kind == "model"
    pipeline = await spend_answer(deps, pipeline="nightly_ordrs_x")
    assert isinstance(pipeline, Unknown) and "nightly_orders" in pipeline.suggestions
    team = await spend_answer(deps, team="marketing")
    assert isinstance(team, Unknown) and team.kind == "team"


async def test_a_future_month_is_refused_with_the_reason(deps):
    found = await spend_answer(deps, period="2027-01")
    assert isinstance(found, Unknown)
    assert "January 2027 has not started yet" in found.message


async def test_injected_service_filter_is_refused_and_escaped(demo_services):
    ctx = AskContext(services=demo_services, now=NOW)
    reply = await build_router().answer("/ops spend service:<!channel>", ctx)
    shown = reply.text + json.dumps(reply.blocks)
    assert "<!channel>" not in shown
    assert "&lt;!channel&gt;" in shown and "service" in reply.text


class BrokenCosts:
    name = "focus-prod"

    async def spend(self, query: SpendQuery) -> SpendSummary:
        raise SourceUnavailable(self.name, "connection refused")

    async def probe(self):  # pragma: no cover - not used
        raise NotImplementedError


def with_costs(deps, *costs):
    hub: Sources = deps.sources
    return replace(
        deps,
        sources=Sources(
            pipelines=list(hub.pipelines.values()),
            registries=list(hub.registries.values()),
            metrics=list(hub.metrics.values()),
            costs=list(costs),
        ),
    )


async def test_a_down_cost_source_gives_a_partial_answer_not_an_error(deps):
    found = await answer(with_costs(deps, BrokenCosts()), team="ml-platform", group_by="service")
    assert found.empty and found.problems
    assert {p.source for p in found.problems} == {"focus-prod"}
    assert found.budget is not None and found.budget.partial


async def test_one_cost_source_down_keeps_the_others_spend_and_says_so(deps, demo_services):
    demo = demo_services.sources.costs["demo"]
    both = await answer(with_costs(deps, demo, BrokenCosts()), team="ml-platform")
    alone = await answer(deps, team="ml-platform")
    assert both.totals == alone.totals
    assert [p.source for p in both.problems] == ["focus-prod"]


class SlowCosts:
    """Counts how many spend queries are in flight at once."""

    name = "slow"
    delay = 0.3

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.calls = 0

    async def spend(self, query: SpendQuery) -> SpendSummary:
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        return SpendSummary(query=query)

    async def probe(self):  # pragma: no cover - not used
        raise NotImplementedError


async def test_spend_queries_of_one_answer_run_concurrently(deps):
    slow = SlowCosts()
    found = await answer(with_costs(deps, slow), team="ml-platform", period="7d", group_by="day")
    # current by day, previous by service, current by service, month to date for the forecast
    # and the team's month for its budget: all in one round trip (all in flight at once)
    assert found.queries == slow.calls >= 4
    assert slow.most == slow.calls


async def test_a_period_before_the_data_says_where_it_starts_and_calls_no_mover_new(deps):
    found = await answer(deps, period="400d")
    first = await deps.sources.spend(SpendQuery(start=date(2024, 1, 1), end=date(2026, 11, 24)))
    data_starts = min(day for day, _currency, cost in first.value.daily if cost)
    assert data_starts > found.previous.last_day  # the demo's 90 days: nothing before
    assert found.data_starts == data_starts
    assert found.movers == ()
    assert found.previous.label == "the 400 days before"  # how it reads is the view's part
    reply = render_spend(found)
    text = json.dumps(reply.blocks)
    assert reply.text.endswith(
        f"in the last 400 days (cost data starts {data_starts:%d %b %Y}: "
        "nothing earlier to compare with)."
    )
    assert "nothing spent in" not in reply.text
    assert "(new)" not in text and "Top movers" not in text

    grouped = render_spend(await answer(deps, period="400d", group_by="team"))
    table = next(t for t in texts(grouped.blocks) if t.startswith("*By team*"))
    assert "ml-platform" in table and "new" not in table and "change vs" not in table


async def test_a_period_whose_previous_period_has_data_keeps_its_comparison(deps):
    found = await answer(deps, period="30d")
    assert found.data_starts is None
    assert found.movers and found.previous.label == "the 30 days before"


@pytest.mark.parametrize("period", ["last-month", "2026-10"])
async def test_a_past_month_shows_that_months_budget_burn(deps, period):
    found = await answer(deps, team="ml-platform", period=period)
    assert found.today == date(2026, 10, 31)  # the answer is as of the month's last day
    burn = found.budget
    assert burn is not None and found.total is not None
    assert burn.spent_mtd == found.total.current  # all of October, not November so far
    assert burn.forecast == found.total.current.quantize(Decimal("0.01"))
    blocks = json.dumps(render_spend(found).blocks)
    assert "(October)" in blocks and "(November)" not in blocks
    # October is over: what it cost is final, so no forecast (it was the spend, repeated).
    assert found.closed and "forecast" not in blocks.lower()


async def test_this_months_answers_keep_this_months_budget(deps):
    found = await answer(deps, team="ml-platform", period="30d")
    assert found.today == date(2026, 11, 23)
    mtd = await answer(deps, team="ml-platform", period="mtd")
    assert found.budget == mtd.budget
