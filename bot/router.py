"""Builds the CommandRouter with every built command registered (one place to add commands)."""

from __future__ import annotations

from bot.commands.dispatch import CommandRouter


def build_router() -> CommandRouter:
    # Later issues register their commands here: router.add("status", status.answer) …
    return CommandRouter()
