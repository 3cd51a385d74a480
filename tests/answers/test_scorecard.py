"""A team's scorecard over the demo company: pipelines, models, spend vs budget and incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.answers.scorecard import team_scorecard
from bot.store.db import session_scope
from bot.store.models import Incident
from integrations.hub import Sources
from integrations.models import SpendQuery
from tests.demo_once import count_builds
from tests.e2e.conftest import DEMO_NOW as NOW


# Unlike the shared services, the scorecard's store holds one open incident for ml-platform.
@pytest.fixture(scope="module")
def demo_services(demo_services):
    with session_scope(demo_services.engine) as session:
        session.add(
            Incident(
                fingerprint="ModelLatencyHigh/search_ranking",
                open_key="x",
                title="p95 high",
                team="ml-platform",
                severity="critical",
                source="alertmanager",
                opened_at=NOW.timestamp(),
                last_alert_at=NOW.timestamp(),
            )
        )
    return demo_services


async def test_ml_platform_scorecard_joins_the_three_domains(deps):
    card = await team_scorecard(deps, "ml-platform")
    assert card.name == "ML Platform" and card.channel == "C0123MLPLAT"
    assert [s.pipeline.name for s in card.pipelines.failing] == ["ad_ctr_features"]
    assert all(deps.config.team_of_pipeline(n) == "ml-platform" for n in card.pipelines.owners)
    unhealthy = {m.name for m, _ in card.unhealthy_models}
    assert "recs" in unhealthy
    assert all(deps.config.team_of_model(m.name) == "ml-platform" for m, _ in card.models)
    assert [i.title for i in card.incidents] == ["p95 high"]
    assert not card.partial


async def test_ml_platform_is_forecast_over_its_budget(deps):
    card = await team_scorecard(deps, "ml-platform")
    line = card.spend.budget
    assert line is not None and line.budget.monthly == 60000
    assert line.at_risk and line.forecast > line.budget.monthly
    direct = await deps.sources.spend(
        SpendQuery(start=date(2026, 11, 1), end=date(2026, 11, 24), team="ml-platform")
    )
    assert card.spend.spent_mtd == direct.value.totals["USD"]


async def test_a_team_without_budget_still_gets_spend_and_forecast(deps):
    card = await team_scorecard(deps, "analytics")
    assert card.spend.budget is not None  # analytics has one
    finance = await team_scorecard(deps, "finance")
    assert finance.spend.budget is None and finance.pipelines.total == 0
    assert finance.spend.forecast >= finance.spend.spent_mtd >= 0


async def test_scorecard_with_every_source_down_is_partial_not_an_error(deps):
    class Down:
        name = "mlflow"

        async def list_models(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    sources = Sources(
        pipelines=list(deps.sources.pipelines.values()),
        registries=[Down()],
        costs=list(deps.sources.costs.values()),
    )
    card = await team_scorecard(replace(deps, sources=sources), "ml-platform")
    assert card.partial and card.models == []
    assert [p.source for p in card.problems] == ["mlflow"]
    assert card.pipelines.failing  # the other domains still answer


async def test_scorecard_answers_fast_once_warm(deps, monkeypatch):
    await team_scorecard(deps, "ml-platform")
    builds = count_builds(monkeypatch)
    await team_scorecard(deps, "data-eng")
    assert builds == {}  # nothing the first answer built is built again
