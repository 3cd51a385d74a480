"""Builds the CommandRouter with every /ops command's handler (one place to add commands)."""

from __future__ import annotations

from bot.commands import approvals, digests, incidents, models, owners, pipelines, spend
from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import BY_NAME


def build_router() -> CommandRouter:
    router = CommandRouter()
    router.add("status", pipelines.status)
    router.add("pipeline", pipelines.pipeline)
    router.add("models", models.models)
    router.add("model", models.model)
    router.add("spend", spend.spend)
    router.add("budget", spend.budget)
    router.add("owners", owners.owners)
    router.add("incidents", incidents.incidents)
    router.add("incident", incidents.incident)
    router.add("digest", digests.digest)
    router.add("promote", approvals.promote)
    router.add("budget-increase", approvals.budget_increase)
    router.add("approvals", approvals.approvals)
    missing = set(BY_NAME) - {"help"} - router.commands
    if missing:  # the grammar and its handlers grow together
        raise RuntimeError(f"/ops commands without a handler: {sorted(missing)}")
    return router
