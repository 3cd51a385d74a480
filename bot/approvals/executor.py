"""Carrying out approved requests against the real systems: registry aliases and budgets."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.approvals.catalog import CatalogProblem, find_model
from bot.budgets import StoredBudgets
from bot.store.db import session_scope
from bot.store.models import StoredBudget
from integrations.hub import Sources
from integrations.models import Budget


class ExecutionError(Exception):
    """An approved request could not be carried out; `str()` is shown to people."""


def marker(request_id: int) -> str:
    """Written into the stored budget's reason, so a retry can see the increase is already in."""
    return f"approval #{request_id}"


def applied(stored_reason: str | None, request_id: int) -> bool:
    """Whether the stored budget was last set by this request ('approval #1' is not '#12')."""
    mark = marker(request_id)
    return bool(stored_reason) and (stored_reason == mark or stored_reason.startswith(mark + ":"))


class SourcesExecutor:
    """Executor over the configured sources: the registry that has the model, and the budgets
    store (which mirrors to AWS Budgets where configured)."""

    def __init__(self, sources: Sources, budgets: StoredBudgets) -> None:
        self.sources = sources
        self.budgets = budgets

    async def set_alias(self, *, model: str, alias: str, version: str) -> str:
        try:
            found = await find_model(self.sources, model)
        except CatalogProblem as exc:
            raise ExecutionError(f"could not reach the model registry: {exc}") from exc
        if found is None:
            raise ExecutionError(f"no model registry has a model called {model!r}")
        previous = found.model.aliases.get(alias)
        async with asyncio.timeout(self.sources.timeout):
            await found.registry.set_alias(found.model.name, alias, version)
        was = f" (was version {previous})" if previous else ""
        return f"{alias} of {model} now points at version {version}{was} in {found.model.source}"

    def _stored_reason(self, team: str) -> str | None:
        with session_scope(self.budgets.engine) as session:
            row = session.get(StoredBudget, team)
            return row.reason if row else None

    async def raise_budget(
        self, *, team: str, amount: Decimal, by: str, reason: str | None, request_id: int
    ) -> str:
        mark = marker(request_id)
        current = await self.budgets.budget(team)
        if current is None:
            raise ExecutionError(f"team {team} has no budget to raise")
        if applied(await asyncio.to_thread(self._stored_reason, team), request_id):
            # Stored by an earlier attempt whose mirror failed: only the mirror is left to do.
            if self.budgets.mirror is not None:
                await self._mirror(current)
            return f"{team} budget is {current.monthly} {current.currency} a month (raised earlier)"
        raised = Budget(
            team=team,
            monthly=current.monthly + amount,
            currency=current.currency,
            alert_at=current.alert_at,
            source="store",
        )
        why = reason if applied(reason, request_id) else f"{mark}: {reason or ''}"
        try:
            await self.budgets.set_budget(raised, by=by, reason=why.rstrip(": "))
        except Exception as exc:
            if applied(await asyncio.to_thread(self._stored_reason, team), request_id):
                raise ExecutionError(
                    f"stored the new {team} budget ({raised.monthly} {raised.currency}), but "
                    f"AWS Budgets was not updated: {exc}"
                ) from exc
            raise
        mirrored = " and in AWS Budgets" if self.budgets.mirror is not None else ""
        return (
            f"{team} budget raised from {current.monthly} to {raised.monthly} "
            f"{raised.currency} a month{mirrored}"
        )

    async def _mirror(self, budget: Budget) -> None:
        assert self.budgets.mirror is not None
        try:
            await self.budgets.mirror.set_budget(budget)
        except Exception as exc:
            raise ExecutionError(f"AWS Budgets was not updated: {exc}") from exc
