"""Stored budgets override ops.yml, exactly (Decimal), on SQLite and PostgreSQL, and mirror to AWS."""

from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from bot.budgets import StoredBudgets
from bot.ops_config import load_ops_config
from integrations.models import Budget
from integrations.protocols import BudgetStore


@pytest.fixture
def cfg():
    return load_ops_config("ops.example.yml")


async def test_configured_budgets_come_from_ops_yml(db_engine, cfg):
    store = StoredBudgets(db_engine, cfg)
    assert isinstance(store, BudgetStore)
    budgets = {b.team: b for b in await store.budgets()}
    assert (
        budgets["ml-platform"].monthly == Decimal("60000")
        and budgets["ml-platform"].source == "ops.yml"
    )


async def test_a_raised_budget_overrides_ops_yml_exactly(db_engine, cfg):
    store = StoredBudgets(db_engine, cfg)
    await store.set_budget(
        Budget(team="ml-platform", monthly=Decimal("65000.10"), currency="USD"), by="U_ALICE"
    )
    raised = await store.budget("ml-platform")
    assert raised is not None
    assert raised.monthly == Decimal("65000.10") and raised.source == "store"
    assert raised.alert_at == tuple(cfg.budgets["ml-platform"].alert_at)
    assert (await store.budget("analytics")).monthly == Decimal("20000")  # others untouched
    # a second raise replaces the first, no duplicate rows
    await store.set_budget(Budget(team="ml-platform", monthly=Decimal("70000"), currency="USD"))
    assert [b.monthly for b in await store.budgets() if b.team == "ml-platform"] == [
        Decimal("70000")
    ]


async def test_non_positive_budget_is_refused(db_engine, cfg):
    with pytest.raises(ValueError, match="must be positive"):
        await StoredBudgets(db_engine, cfg).set_budget(
            Budget(team="analytics", monthly=Decimal("0"))
        )


async def test_raised_budget_is_mirrored_to_aws_budgets(db_engine, cfg):
    from integrations.aws_budgets import AwsBudgetsMirror

    with mock_aws():
        await _mirror_roundtrip(db_engine, cfg, AwsBudgetsMirror)


async def _mirror_roundtrip(db_engine, cfg, AwsBudgetsMirror):  # noqa: N803
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    mirror = AwsBudgetsMirror(account_id="123456789012", session=session)
    store = StoredBudgets(db_engine, cfg, mirror=mirror)
    await store.set_budget(Budget(team="analytics", monthly=Decimal("25000"), currency="USD"))
    mirrored = await mirror.get("analytics")
    assert mirrored is not None and mirrored.monthly == Decimal("25000")
