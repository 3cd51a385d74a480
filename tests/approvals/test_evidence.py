"""Evidence on approval cards, read from the demo company as the app builds it (ops.example.yml at
2026-11-23 12:00 UTC), and what a down source does to it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.answers.deps import AnswerDeps
from bot.approvals.evidence import (
    budget_evidence,
    expected_cost_change,
    promotion_evidence,
    same_days_last_month,
)
from bot.approvals.types import BudgetSubject, PromotionSubject
from bot.services import build_services
from bot.settings import Settings
from bot.store.db import engine_for, upgrade
from bot.views.approval_cards import approval_card
from integrations.errors import SourceError
from integrations.hub import Sources
from integrations.models import ModelVersion
from tests.fakeslack import validate_blocks
from tests.views.test_approval_views import snapshot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHURN = PromotionSubject(model="churn", version="14", alias="champion", current_version="12")
RAISE = BudgetSubject(
    team="ml-platform", amount=Decimal(3000), currency="USD", current_monthly=Decimal(60000)
)


@pytest.fixture
def deps(tmp_path) -> AnswerDeps:
    url = f"sqlite:///{tmp_path / 'evidence.db'}"
    upgrade(url)
    services = build_services(
        Settings(database_url=url),
        engine=engine_for(url),
        config_path=Path("ops.example.yml"),
        now=NOW,
        sends=False,
    )
    found = services.answer_deps()
    assert isinstance(found, AnswerDeps)
    return found


async def test_promotion_evidence_compares_candidate_with_the_alias_holder(deps):
    evidence = await promotion_evidence(deps, CHURN)
    assert evidence.problems == ()
    assert evidence.candidate and evidence.candidate.version == "14"
    assert evidence.current and evidence.current.version == "12"
    assert evidence.candidate.metrics["auc"] > evidence.current.metrics["auc"]
    assert evidence.health and evidence.health.latency_p95_ms is not None
    assert evidence.serving["USD"] > 0  # churn is served online: tagged spend in 30 days
    # the demo versions differ only in metrics of quality: nothing predicts a cost change
    assert evidence.cost_change == "no cost change expected from metadata"
    assert evidence.champion is None  # the alias holder is the champion: shown once


async def test_a_promotion_to_another_alias_is_also_judged_against_the_champion(deps):
    to_staging = PromotionSubject(model="churn", version="13", alias="staging")
    evidence = await promotion_evidence(deps, to_staging)
    assert evidence.current is None  # nothing is staged
    assert evidence.champion is not None and evidence.champion.version == "12"
    card = approval_card(snapshot(subject=to_staging), evidence, tz=UTC)
    assert validate_blocks(card.blocks) == []
    text = str(card.blocks)
    assert "against the champion* v13 vs v12" in text and "auc" in text


async def test_budget_evidence_shows_burn_forecast_and_the_drivers_of_the_overrun(deps):
    evidence = await budget_evidence(deps, RAISE)
    assert evidence.problems == ()
    assert evidence.budget and evidence.budget.monthly == Decimal(60000)
    assert 0 < evidence.spent_mtd < evidence.forecast
    assert evidence.forecast > evidence.budget.monthly  # ml-platform is heading over budget
    assert evidence.compared_with == "the same days of October"
    # recs moved to bigger GPUs: its training and model lead the movers
    assert evidence.models[0].key == "recs" and evidence.models[0].delta > 0
    assert evidence.pipelines[0].key == "recs_training"
    assert evidence.services[0].delta > 0


class DownRegistry:
    name = "mlflow"

    async def get_model(self, name: str):  # type: ignore[no-untyped-def]
        raise SourceError(self.name, "connection refused")

    async def versions(self, name: str):  # type: ignore[no-untyped-def]
        raise SourceError(self.name, "connection refused")

    async def list_models(self):  # type: ignore[no-untyped-def]
        raise SourceError(self.name, "connection refused")


async def test_a_down_registry_degrades_the_card_instead_of_breaking_it(deps):
    sources = Sources(
        registries=[DownRegistry()],
        metrics=list(deps.sources.metrics.values()),
        costs=list(deps.sources.costs.values()),
        # Only the registry is down; the healthy sources get ample time, so a loaded machine
        # cannot make them look down too (the down registry fails at once either way).
        timeout=60,
    )
    degraded = replace(deps, sources=sources)
    evidence = await promotion_evidence(degraded, CHURN)
    assert evidence.candidate is None and evidence.health is not None
    assert [p.source for p in evidence.problems] == ["mlflow"]
    card = approval_card(snapshot(), evidence, tz=UTC)
    assert validate_blocks(card.blocks) == []
    text = str(card.blocks)
    assert "Partial answer" in text and "did not return this version" in text


def test_size_metrics_predict_a_serving_cost_change():
    old = ModelVersion(model="m", version="1", metrics={"auc": 0.8, "model_size_mb": 100.0})
    new = ModelVersion(model="m", version="2", metrics={"auc": 0.81, "model_size_mb": 150.0})
    said = expected_cost_change(new, old, {"USD": Decimal(1000)})
    assert "model_size_mb 100 → 150 (+50%)" in said and "1500.00 USD" in said


def test_a_new_serving_machine_is_named_without_a_made_up_estimate():
    old = ModelVersion(model="m", version="1", tags={"instance_type": "m5.xlarge"})
    new = ModelVersion(model="m", version="2", tags={"instance_type": "g5.xlarge"})
    said = expected_cost_change(new, old, {"USD": Decimal(1000)})
    assert "instance_type m5.xlarge → g5.xlarge" in said and "USD" not in said


def test_same_days_last_month_handles_short_months():
    assert same_days_last_month(date(2026, 11, 23)) == (date(2026, 10, 1), date(2026, 10, 24))
    assert same_days_last_month(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 1))
