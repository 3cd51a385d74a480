"""Budgets: ops.yml's figures, overridden by those Switchboard stored (approved increases),
optionally mirrored to AWS Budgets. Implements the BudgetStore Protocol."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal

import structlog
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.approvals.models import BudgetIncrease
from bot.ops_config import OpsConfig
from bot.store.db import session_scope, upsert_dialect
from bot.store.models import StoredBudget, table_of
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

    async def raise_by(
        self, team: str, amount: Decimal, *, request_id: int, by: str, reason: str
    ) -> Raised:
        """Add `amount` to the team's monthly budget once per approval request (the ledger's
        key), then mirror the result; a mirror failure is raised while the increase stays."""
        if not amount.is_finite() or amount <= 0:
            raise ValueError(f"an increase must be a positive amount, got {amount}")
        base = await self.budget(team)
        if base is None:
            raise LookupError(f"team {team} has no budget to raise")
        raised = await asyncio.to_thread(
            _raise_once,
            self.engine,
            base,
            amount=amount,
            request_id=request_id,
            by=by,
            reason=reason,
        )
        log.info(
            "budget_raised",
            team=team,
            monthly=str(raised.budget.monthly),
            by=by,
            request=request_id,
            applied_now=raised.now,
        )
        if self.mirror is not None:
            try:
                await self.mirror.set_budget(raised.budget)
            except Exception as exc:
                raise MirrorFailed(raised, exc) from exc
        return raised

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


@dataclass(frozen=True)
class Raised:
    """An increase as recorded in the ledger; `now` is False when an earlier attempt of the
    same request had already applied it."""

    budget: Budget
    before: Decimal
    now: bool


class MirrorFailed(Exception):
    """The increase is stored, but AWS Budgets (the mirror) was not updated."""

    def __init__(self, raised: Raised, cause: Exception) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.raised = raised


BUDGET = table_of(StoredBudget)
LEDGER = table_of(BudgetIncrease)


def _raise_once(
    engine: Engine, base: Budget, *, amount: Decimal, request_id: int, by: str, reason: str
) -> Raised:
    """One transaction: claim the request's ledger row first (the write that serialises
    concurrent increases: PostgreSQL row locks, SQLite's write lock), then add to the figure
    as it is now, so neither a retry nor a concurrent increase of the same team is lost."""
    # Imported here: only a budget increase needs the dialect's upsert (and reading budgets,
    # as `switchboard ask` does, should not pay for PostgreSQL's dialect).
    dialect = upsert_dialect(engine.dialect.name)
    now = time.time()
    with engine.begin() as conn:
        claimed = conn.execute(
            dialect.insert(LEDGER)
            .values(
                request_id=request_id,
                team=base.team,
                amount=str(amount),
                currency=base.currency,
                monthly_before="",
                monthly_after="",
                applied_at=now,
                applied_by=by,
            )
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(LEDGER.c.request_id)
        ).first()
        if claimed is None:
            # Applied by an earlier attempt: nothing to add. The figure to mirror is the one
            # stored now (it may have moved since), not the one that attempt wrote.
            row = conn.execute(sa_select(LEDGER).where(LEDGER.c.request_id == request_id)).one()
            current = conn.execute(
                sa_select(BUDGET.c.monthly).where(BUDGET.c.team == base.team)
            ).scalar()
            now_monthly = Decimal(current if current is not None else row.monthly_after)
            return Raised(_moved(base, now_monthly), Decimal(row.monthly_before), False)
        # The team's row exists before it is locked, so two first increases cannot both insert.
        conn.execute(
            dialect.insert(BUDGET)
            .values(
                team=base.team, monthly=str(base.monthly), currency=base.currency, updated_at=now
            )
            .on_conflict_do_nothing(index_elements=["team"])
        )
        current = conn.execute(
            sa_select(BUDGET.c.monthly).where(BUDGET.c.team == base.team).with_for_update()
        ).scalar_one()
        before = Decimal(current)
        after = before + amount
        conn.execute(
            BUDGET.update()
            .where(BUDGET.c.team == base.team)
            .values(monthly=str(after), updated_at=now, updated_by=by, reason=reason)
        )
        conn.execute(
            LEDGER.update()
            .where(LEDGER.c.request_id == request_id)
            .values(monthly_before=str(before), monthly_after=str(after))
        )
    return Raised(_moved(base, after), before, True)


def _moved(base: Budget, monthly: Decimal) -> Budget:
    return base.model_copy(update={"monthly": monthly, "source": "store"})
