"""Carrying out approved requests against the real systems: registry aliases and budgets."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.approvals.catalog import CatalogProblem, find_model
from bot.budgets import MirrorFailed, StoredBudgets
from integrations.hub import Sources


class ExecutionError(Exception):
    """An approved request could not be carried out; `str()` is shown to people."""


class SourcesExecutor:
    """Executor over the configured sources: the registry that has the model, and the budgets
    store (which mirrors to AWS Budgets where configured)."""

    def __init__(self, sources: Sources, budgets: StoredBudgets) -> None:
        self.sources = sources
        self.budgets = budgets

    async def set_alias(
        self, *, model: str, alias: str, version: str, expected: str | None = None
    ) -> str:
        try:
            found = await find_model(self.sources, model)
        except CatalogProblem as exc:
            raise ExecutionError(f"could not reach the model registry: {exc}") from exc
        if found is None:
            raise ExecutionError(f"no model registry has a model called {model!r}")
        previous = found.model.aliases.get(alias)
        if previous == version:
            return f"{alias} of {model} already points at version {version} in {found.model.source}"
        if previous != expected:
            # Approvers agreed to replace what the alias pointed at when they were asked; the
            # registry has no compare-and-set, so this check narrows the race to one call.
            was = f"version {expected}" if expected else "no version"
            raise ExecutionError(
                f"{alias} of {model} was moved while the request waited: it pointed at {was}, "
                f"now at version {previous or 'none'}. Nothing was changed; ask again if "
                "the promotion still makes sense"
            )
        async with asyncio.timeout(self.sources.timeout):
            await found.registry.set_alias(found.model.name, alias, version)
        was = f" (was version {previous})" if previous else ""
        return f"{alias} of {model} now points at version {version}{was} in {found.model.source}"

    async def raise_budget(
        self, *, team: str, amount: Decimal, by: str, reason: str | None, request_id: int
    ) -> str:
        why = f"approval #{request_id}" + (f": {reason}" if reason else "")
        try:
            raised = await self.budgets.raise_by(
                team, amount, request_id=request_id, by=by, reason=why
            )
        except LookupError as exc:
            raise ExecutionError(str(exc)) from exc
        except MirrorFailed as exc:
            stored = exc.raised.budget
            raise ExecutionError(
                f"stored the new {team} budget ({stored.monthly} {stored.currency} a month), but "
                f"AWS Budgets was not updated: {exc}. Retry to update AWS Budgets; the increase "
                "is not added twice"
            ) from exc
        budget = raised.budget
        mirrored = " and in AWS Budgets" if self.budgets.mirror is not None else ""
        if not raised.now:
            return (
                f"{team} budget is {budget.monthly} {budget.currency} a month{mirrored} (this "
                f"request's increase of {amount} was stored by an earlier attempt)"
            )
        return (
            f"{team} budget raised from {raised.before} to {budget.monthly} "
            f"{budget.currency} a month{mirrored}"
        )
