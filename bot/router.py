"""Builds the CommandRouter with every built command registered (one place to add commands)."""

from __future__ import annotations

from bot.commands.dispatch import CommandRouter


def build_router() -> CommandRouter:
    # Later issues register their commands here: router.add("status", status.answer) …
    from bot.commands import spend

    router = CommandRouter()
    router.add("spend", spend.spend)
    router.add("budget", spend.budget)
    from bot.commands import incidents, owners, pipelines

    router.add("status", pipelines.status)
    router.add("pipeline", pipelines.pipeline)
    router.add("owners", owners.owners)
    router.add("incidents", incidents.incidents)
    from bot.commands import models

    router.add("models", models.models)
    router.add("model", models.model)
    from bot.commands import digests

    router.add("digest", digests.digest)
    from bot.commands import approvals

    router.add("promote", approvals.promote)
    router.add("budget-increase", approvals.budget_increase)
    router.add("approvals", approvals.approvals)
    return router
