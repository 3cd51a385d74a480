"""Which teams a budget increase may be asked for: those with a budget, in ops.yml or stored
(an approved increase outlives its ops.yml entry). Any other team, such as the finance
approvers' own, is neither offered by the modal nor accepted by the check."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

from bot.budgets import StoredBudgets
from bot.commands.approvals import BudgetAsk, budgeted_teams, check_budget
from bot.ops_config import OpsConfig, parse_ops_config
from bot.services import Services
from bot.settings import Settings
from bot.store.db import make_engine, session_scope
from bot.store.models import StoredBudget
from bot.views.ids import FormField
from integrations.hub import Sources

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
TEAMS = {
    "data-eng": {"name": "Data Engineering", "channel": "#data", "members": ["U0DE0ANNA"]},
    "finance": {"name": "Finance", "channel": "#finance", "members": ["U0FI0MARTA"]},
    "ml-platform": {"name": "ML Platform", "channel": "#ml", "members": ["U0ML0EVA"]},
    "analytics": {"name": "Analytics", "channel": "#analytics", "members": ["U0AN0KEMI"]},
}


def config(budgets: dict[str, dict[str, int]]) -> OpsConfig:
    doc = {"version": 1, "workspace": {"timezone": "UTC"}, "teams": TEAMS, "budgets": budgets}
    return parse_ops_config(yaml.safe_dump(doc, sort_keys=False))


def deps_for(migrated_sqlite: Path, tmp_path: Path, budgets, stored=()):  # type: ignore[no-untyped-def]
    path = tmp_path / "budgets.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        for team, monthly in stored:
            session.add(
                StoredBudget(team=team, monthly=monthly, currency="USD", updated_at=time.time())
            )
    cfg = config(budgets)
    services = Services(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        engine=engine,
        ops_config=cfg,
        budgets=StoredBudgets(engine, cfg),
        sources=Sources(),
    )
    deps = services.answer_deps(now=NOW)
    assert deps is not None
    return deps


async def test_only_teams_with_a_budget_in_ops_yml_or_stored_are_offered(migrated_sqlite, tmp_path):
    deps = deps_for(
        migrated_sqlite,
        tmp_path,
        {"analytics": {"monthly": 2000}, "data-eng": {"monthly": 5000}},
        stored=[("ml-platform", "9000.00")],  # raised once; its ops.yml entry since removed
    )
    assert await budgeted_teams(deps) == ["data-eng", "ml-platform", "analytics"]  # ops.yml order


async def test_a_team_without_a_budget_is_refused_on_its_field(migrated_sqlite, tmp_path):
    deps = deps_for(migrated_sqlite, tmp_path, {"data-eng": {"monthly": 5000}})
    refused = await check_budget(deps, team="finance", amount="500")
    assert not isinstance(refused, BudgetAsk)
    assert set(refused) == {FormField.team}
    assert "Finance has no budget to raise" in refused[FormField.team]
    assert await check_budget(deps, team="data-eng", amount="500") == BudgetAsk(
        team="data-eng", amount=Decimal("500.00")
    )


async def test_no_team_with_a_budget_offers_none(migrated_sqlite, tmp_path):
    deps = deps_for(migrated_sqlite, tmp_path, {})
    assert await budgeted_teams(deps) == []
