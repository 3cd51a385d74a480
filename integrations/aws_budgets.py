"""Mirror of team budgets into AWS Budgets, so a raise approved in Slack also moves AWS alerts.

One AWS budget per team, named `<name_prefix><team>`: COST type, MONTHLY, a flat limit, and
(when `team_tag` is set) a cost filter on the team's cost-allocation tag so AWS tracks the
team's spend, not the whole account's. Updates keep whatever else an operator configured on
the AWS side (cost types, extra filters) and change only the limit.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import boto3
import structlog
from botocore.exceptions import ClientError

from integrations.aws_costs import aws_error, boto_config
from integrations.errors import SourceDataError
from integrations.http import probe_call
from integrations.models import Budget, ProbeResult

log = structlog.get_logger(__name__)
R = TypeVar("R")

SOURCE = "aws_budgets"
AUTH_FIX = (
    "set AWS_PROFILE or AWS credentials; the role needs budgets:ViewBudget and "
    "budgets:ModifyBudget (and sts:GetCallerIdentity unless the account id is configured)"
)
# Fields AWS computes or that contradict a flat monthly limit; they must not go back in an update.
_READ_ONLY = (
    "CalculatedSpend",
    "LastUpdatedTime",
    "HealthStatus",
    "PlannedBudgetLimits",
    "AutoAdjustData",
)


class AwsBudgetsMirror:
    """Reads and writes the `switchboard-*` budgets of one AWS account."""

    name = SOURCE

    def __init__(
        self,
        *,
        account_id: str | None = None,
        region: str = "us-east-1",
        session: boto3.Session | None = None,
        name_prefix: str = "switchboard-",
        team_tag: str | None = "team",
        timeout: float = 10,
    ) -> None:
        self.region = region
        self.name_prefix = name_prefix
        self.team_tag = team_tag
        self.timeout = timeout
        self._account_id = account_id
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are

    # -- public API ------------------------------------------------------------------------
    async def upsert(self, budget: Budget) -> None:
        """Create the team's budget, or change its limit; a no-op when AWS already agrees."""
        await self._run(self._upsert, budget)

    async def get(self, team: str) -> Budget | None:
        return await self._run(self._get, team)

    async def list(self) -> list[Budget]:
        return await self._run(self._list)

    # BudgetStore protocol names, so the mirror can stand in where a store is expected.
    async def budgets(self) -> builtins.list[Budget]:
        return await self.list()

    async def set_budget(self, budget: Budget) -> None:
        await self.upsert(budget)

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            count = len(await self.list())
            return f"AWS Budgets answered: {count} budget(s) named {self.name_prefix}*"

        return await probe_call(SOURCE, check)

    # -- worker-thread side ----------------------------------------------------------------
    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            error = aws_error(exc, source=SOURCE, auth_fix=AUTH_FIX)
            log.warning("aws_call_failed", source=SOURCE, error=str(error))
            raise error from None

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                session = self._session or boto3.Session()
                self._clients[service] = session.client(
                    service, config=boto_config(region=self.region, timeout=self.timeout)
                )
            return self._clients[service]

    def _account(self) -> str:
        if self._account_id is None:
            self._account_id = str(self._client("sts").get_caller_identity()["Account"])
        return self._account_id

    def _budget_name(self, team: str) -> str:
        return f"{self.name_prefix}{team}"

    def _describe(self, team: str) -> dict[str, Any] | None:
        try:
            answer = self._client("budgets").describe_budget(
                AccountId=self._account(), BudgetName=self._budget_name(team)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotFoundException":
                return None
            raise
        return dict(answer["Budget"])

    def _upsert(self, budget: Budget) -> None:
        limit = {"Amount": _amount(budget.monthly), "Unit": budget.currency}
        existing = self._describe(budget.team)
        if existing is None:
            try:
                self._client("budgets").create_budget(
                    AccountId=self._account(), Budget=self._new_budget(budget.team, limit)
                )
                log.info("aws_budget_created", team=budget.team, limit=limit["Amount"])
                return
            except ClientError as exc:
                # Another replica created it between our describe and create: update instead.
                if exc.response.get("Error", {}).get("Code") != "DuplicateRecordException":
                    raise
                existing = self._describe(budget.team)
                if existing is None:
                    raise
        monthly = existing.get("TimeUnit") == "MONTHLY"
        if monthly and _same_limit(existing.get("BudgetLimit"), limit):
            return
        new = {k: v for k, v in existing.items() if k not in _READ_ONLY}
        new.update(BudgetLimit=limit, BudgetType="COST", TimeUnit="MONTHLY")
        self._client("budgets").update_budget(AccountId=self._account(), NewBudget=new)
        log.info("aws_budget_updated", team=budget.team, limit=limit["Amount"])

    def _new_budget(self, team: str, limit: dict[str, str]) -> dict[str, Any]:
        new: dict[str, Any] = {
            "BudgetName": self._budget_name(team),
            "BudgetLimit": limit,
            "BudgetType": "COST",
            "TimeUnit": "MONTHLY",
        }
        if self.team_tag:
            new["CostFilters"] = {"TagKeyValue": [f"user:{self.team_tag}${team}"]}
        return new

    def _get(self, team: str) -> Budget | None:
        found = self._describe(team)
        return self._to_budget(found) if found else None

    def _list(self) -> builtins.list[Budget]:
        client = self._client("budgets")
        params: dict[str, Any] = {"AccountId": self._account()}
        found: builtins.list[Budget] = []
        while True:
            page = client.describe_budgets(**params)
            for raw in page.get("Budgets") or []:
                if str(raw.get("BudgetName", "")).startswith(self.name_prefix):
                    budget = self._to_budget(raw)
                    if budget is not None:
                        found.append(budget)
            token = page.get("NextToken")
            if not token:
                return sorted(found, key=lambda b: b.team)
            params["NextToken"] = token

    def _to_budget(self, raw: dict[str, Any]) -> Budget | None:
        limit = raw.get("BudgetLimit")
        if not limit:  # planned or auto-adjusting budgets have no single monthly figure
            return None
        try:
            monthly = Decimal(str(limit["Amount"]))
        except (KeyError, InvalidOperation):
            raise SourceDataError(
                SOURCE, f"budget {raw.get('BudgetName')} has no usable limit"
            ) from None
        return Budget(
            team=str(raw["BudgetName"])[len(self.name_prefix) :],
            monthly=monthly,
            currency=str(limit.get("Unit") or "USD"),
            source="aws",
        )


def _amount(value: Decimal) -> str:
    # AWS wants a plain decimal string; normalize() would turn 5000 into '5E+3'.
    return format(value, "f")


def _same_limit(current: Any, wanted: dict[str, str]) -> bool:
    if not isinstance(current, dict):
        return False
    try:
        same_amount = Decimal(str(current.get("Amount"))) == Decimal(wanted["Amount"])
    except InvalidOperation:
        return False
    return same_amount and current.get("Unit") == wanted["Unit"]
