"""Builds the CommandRouter with every /ops command's handler (one place to add commands).

Handlers are named as "module:function" and imported on first use: `switchboard ask "/ops help"`
answers without importing spend (DuckDB), charts (matplotlib) or the approval machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bot.commands.dispatch import CommandRouter
from bot.commands.grammar import BY_NAME

if TYPE_CHECKING:
    from bot.commands.asked import Handler
    from bot.commands.context import AskContext
    from bot.commands.grammar import ParsedCommand
    from bot.views.reply import Reply

HANDLERS: dict[str, str] = {
    "status": "bot.commands.pipelines:status",
    "pipeline": "bot.commands.pipelines:pipeline",
    "models": "bot.commands.models:models",
    "model": "bot.commands.models:model",
    "spend": "bot.commands.spend:spend",
    "budget": "bot.commands.spend:budget",
    "owners": "bot.commands.owners:owners",
    "incidents": "bot.commands.incidents:incidents",
    "incident": "bot.commands.incidents:incident",
    "digest": "bot.commands.digests:digest",
    "promote": "bot.commands.approvals:promote",
    "budget-increase": "bot.commands.approvals:budget_increase",
    "approvals": "bot.commands.approvals:approvals",
}


def resolve(target: str) -> Handler:
    """The handler named by "module:function" (imports its module)."""
    module, _, attr = target.partition(":")
    handler: Handler = getattr(importlib.import_module(module), attr)
    return handler


def lazy_handler(target: str) -> Handler:
    """A handler that imports `target` ("module:function") the first time it runs."""
    resolved: list[Handler] = []

    async def handler(parsed: ParsedCommand, ctx: AskContext) -> Reply:
        if not resolved:
            resolved.append(resolve(target))
        return await resolved[0](parsed, ctx)

    handler.__qualname__ = handler.__name__ = f"lazy[{target}]"
    return handler


def build_router(*, eager: bool = False) -> CommandRouter:
    """Every command's handler; `eager` imports them all now (the server: no first-request
    import pause, and a broken handler module fails at start-up)."""
    router = CommandRouter()
    for name, target in HANDLERS.items():
        router.add(name, resolve(target) if eager else lazy_handler(target))
    missing = set(BY_NAME) - {"help"} - router.commands
    if missing:  # the grammar and its handlers grow together
        raise RuntimeError(f"/ops commands without a handler: {sorted(missing)}")
    return router
