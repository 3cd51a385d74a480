"""AWS Budgets mirror against moto: create, raise, idempotent upsert, reads, account lookup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.budgets.exceptions import NotFoundException
from moto.budgets.models import Budget as MotoBudget
from moto.budgets.models import BudgetsBackend
from moto.budgets.responses import BudgetsResponse
from moto.core import DEFAULT_ACCOUNT_ID

from integrations.aws_budgets import AwsBudgetsMirror
from integrations.errors import SourceAuthError
from integrations.models import Budget

ACCOUNT = "111122223333"


def _backend_update_budget(self: BudgetsBackend, account_id: str, new_budget: dict) -> None:
    # UpdateBudget as AWS documents it: the named budget must exist; NewBudget replaces it.
    old = self.budgets[account_id].get(new_budget["BudgetName"])
    if old is None:
        raise NotFoundException(
            f"Unable to update budget: {new_budget['BudgetName']} - the budget doesn't exist."
        )
    self.budgets[account_id][new_budget["BudgetName"]] = MotoBudget(
        dict(new_budget),
        [{"Notification": n.details, "Subscribers": n.subscribers} for n in old.notifications],
    )


def _response_update_budget(self: BudgetsResponse) -> str:
    self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
    return json.dumps({})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """moto with UpdateBudget added (moto 5.2 implements Create/Describe/Delete only).

    Yields the NewBudget payloads the mirror sent, so tests can see when it wrote.
    """
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    updates: list[dict[str, Any]] = []

    def recording(self: BudgetsBackend, account_id: str, new_budget: dict) -> None:
        updates.append(new_budget)
        _backend_update_budget(self, account_id, new_budget)

    monkeypatch.setattr(BudgetsBackend, "update_budget", recording, raising=False)
    monkeypatch.setattr(BudgetsResponse, "update_budget", _response_update_budget, raising=False)
    with mock_aws():
        yield updates


def raw_budgets(account: str = ACCOUNT) -> dict[str, dict[str, Any]]:
    client = boto3.client("budgets", region_name="us-east-1")
    return {b["BudgetName"]: b for b in client.describe_budgets(AccountId=account)["Budgets"]}


async def test_upsert_creates_a_monthly_cost_budget_filtered_to_the_team(aws) -> None:
    mirror = AwsBudgetsMirror(account_id=ACCOUNT)
    await mirror.upsert(Budget(team="ml-platform", monthly=Decimal("20000")))
    stored = raw_budgets()["switchboard-ml-platform"]
    assert stored["BudgetLimit"] == {"Amount": "20000", "Unit": "USD"}
    assert stored["BudgetType"] == "COST"
    assert stored["TimeUnit"] == "MONTHLY"
    assert stored["CostFilters"] == {"TagKeyValue": ["user:team$ml-platform"]}
    assert aws == []


async def test_a_raised_budget_updates_the_limit_and_keeps_the_rest(aws) -> None:
    mirror = AwsBudgetsMirror(account_id=ACCOUNT)
    await mirror.upsert(Budget(team="ml-platform", monthly=Decimal("20000")))
    await mirror.upsert(Budget(team="ml-platform", monthly=Decimal("25000.50")))
    stored = raw_budgets()
    assert list(stored) == ["switchboard-ml-platform"]
    assert stored["switchboard-ml-platform"]["BudgetLimit"] == {"Amount": "25000.50", "Unit": "USD"}
    assert stored["switchboard-ml-platform"]["CostFilters"] == {
        "TagKeyValue": ["user:team$ml-platform"]
    }
    assert len(aws) == 1
    assert "CalculatedSpend" not in aws[0] and "LastUpdatedTime" not in aws[0]
    got = await mirror.get("ml-platform")
    assert got == Budget(team="ml-platform", monthly=Decimal("25000.50"), source="aws")


async def test_upserting_the_same_budget_twice_writes_once(aws) -> None:
    mirror = AwsBudgetsMirror(account_id=ACCOUNT)
    budget = Budget(team="data-eng", monthly=Decimal("5000"))
    await mirror.upsert(budget)
    await mirror.upsert(budget)
    await mirror.upsert(Budget(team="data-eng", monthly=Decimal("5000.00")))
    assert list(raw_budgets()) == ["switchboard-data-eng"]
    assert raw_budgets()["switchboard-data-eng"]["BudgetLimit"]["Amount"] == "5000"
    assert aws == []


async def test_get_of_an_unknown_team_is_none(aws) -> None:
    assert await AwsBudgetsMirror(account_id=ACCOUNT).get("nobody") is None


async def test_list_returns_only_switchboard_budgets_sorted_by_team(aws) -> None:
    client = boto3.client("budgets", region_name="us-east-1")
    client.create_budget(
        AccountId=ACCOUNT,
        Budget={
            "BudgetName": "finance-owned",
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
            "BudgetLimit": {"Amount": "1", "Unit": "USD"},
        },
    )
    mirror = AwsBudgetsMirror(account_id=ACCOUNT)
    await mirror.upsert(Budget(team="ml-platform", monthly=Decimal("20000")))
    await mirror.upsert(Budget(team="analytics", monthly=Decimal("800"), currency="EUR"))
    listed = await mirror.list()
    assert [(b.team, b.monthly, b.currency, b.source) for b in listed] == [
        ("analytics", Decimal("800"), "EUR", "aws"),
        ("ml-platform", Decimal("20000"), "USD", "aws"),
    ]
    assert await mirror.budgets() == listed


async def test_account_id_comes_from_sts_when_not_given(aws) -> None:
    mirror = AwsBudgetsMirror()
    await mirror.upsert(Budget(team="ml-platform", monthly=Decimal("10")))
    assert "switchboard-ml-platform" in raw_budgets(DEFAULT_ACCOUNT_ID)
    assert raw_budgets(ACCOUNT) == {}


async def test_custom_prefix_and_no_tag_filter(aws) -> None:
    mirror = AwsBudgetsMirror(account_id=ACCOUNT, name_prefix="sb/", team_tag=None)
    await mirror.upsert(Budget(team="ml", monthly=Decimal("10")))
    stored = raw_budgets()["sb/ml"]
    assert "CostFilters" not in stored or not stored["CostFilters"]
    assert [b.team for b in await mirror.list()] == ["ml"]


async def test_probe_reports_the_mirrored_budgets(aws) -> None:
    mirror = AwsBudgetsMirror(account_id=ACCOUNT)
    await mirror.upsert(Budget(team="ml", monthly=Decimal("10")))
    probe = await mirror.probe()
    assert probe.reachable and probe.authenticated
    assert "1 budget" in probe.detail


async def test_missing_credentials_are_an_auth_error_with_the_permissions_to_grant() -> None:
    import botocore.session

    core = botocore.session.Session()
    core.get_component("credential_provider").providers = []
    mirror = AwsBudgetsMirror(account_id=ACCOUNT, session=boto3.Session(botocore_session=core))
    with pytest.raises(SourceAuthError) as caught:
        await mirror.list()
    assert "budgets:ModifyBudget" in (caught.value.fix or "")
