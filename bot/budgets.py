"""Budgets: ops.yml's figures, overridden by those Switchboard stored (approved increases),
optionally mirrored to AWS Budgets. Implements the BudgetStore Protocol."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.ops_config import OpsConfig
from bot.store.db import session_scope
from bot.store.models import StoredBudget
from integrations.models import Budget
from integrations.protocols import BudgetStore

log = structlog.get_logger(__name__)


class StoredBudgets:
    def __init__(
        self, engine: Engine, cfg: OpsConfig, *, mirror: BudgetStore | None = None
    ) -> None:
        self.engine = engine
        self.cfg = cfg
        self.mirror = mirror

    def _configured(self) -> dict[str, Budget]:
        currency = self.cfg.workspace.currency
        return {
            team: Budget(
                team=team,
                monthly=Decimal(str(b.monthly)),
                currency=b.currency or currency,
                alert_at=tuple(b.alert_at),
            )
            for team, b in self.cfg.budgets.items()
        }

    def _stored(self) -> list[StoredBudget]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(StoredBudget)).all())

    async def budgets(self) -> list[Budget]:
        merged = self._configured()
        for row in await asyncio.to_thread(self._stored):
            base = merged.get(row.team)
            merged[row.team] = Budget(
                team=row.team,
                monthly=Decimal(row.monthly),
                currency=row.currency,
                alert_at=base.alert_at if base else (0.8, 1.0),
                source="store",
            )
        return sorted(merged.values(), key=lambda b: b.team)

    async def budget(self, team: str) -> Budget | None:
        return next((b for b in await self.budgets() if b.team == team), None)

    async def set_budget(
        self, budget: Budget, *, by: str | None = None, reason: str | None = None
    ) -> None:
        """Store the new figure first (the source of truth), then mirror it; a mirror failure is
        raised to the caller, who reports it, while the stored budget stays changed."""
        if budget.monthly <= 0:
            raise ValueError(f"a budget must be positive, got {budget.monthly}")

        def write() -> None:
            with session_scope(self.engine) as session:
                row = session.get(StoredBudget, budget.team) or StoredBudget(
                    team=budget.team, monthly="0", currency=budget.currency, updated_at=0
                )
                row.monthly = str(budget.monthly)
                row.currency = budget.currency
                row.updated_at = time.time()
                row.updated_by = by
                row.reason = reason
                session.add(row)

        await asyncio.to_thread(write)
        log.info("budget_stored", team=budget.team, monthly=str(budget.monthly), by=by)
        if self.mirror is not None:
            await self.mirror.set_budget(budget)
