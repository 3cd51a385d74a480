"""One code path from command text to a rendered Reply, shared by Slack, mentions and `switchboard ask`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from bot.commands.grammar import BY_NAME, ParsedCommand, ParseProblem, parse
from bot.views.help import render_coming_soon, render_command_help, render_help, render_problem
from bot.views.reply import Reply

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class AskContext:
    user_id: str = "U_TERMINAL"
    channel_id: str | None = None
    surface: str = "terminal"  # slash_command, mention, im, terminal, home, sandbox
    services: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the command text as asked (set by the router), for "More" and "Share"
    page: int = 0  # which page of a long answer ("More" button)
    timezone: str | None = None  # the asking user's IANA zone (users.info); None: workspace zone
    now: datetime | None = None  # fixed "now" for reproducible answers (tests, golden files)


Handler = Callable[[ParsedCommand, AskContext], Awaitable[Reply]]


class CommandRouter:
    """Maps command names to handlers; a command without a handler answers that it is coming."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, name: str, handler: Handler) -> None:
        if name not in BY_NAME:
            raise ValueError(f"{name!r} is not an /ops command")
        self._handlers[name] = handler

    @property
    def available(self) -> set[str]:
        return set(self._handlers) | {"help"}

    async def answer(self, text: str, ctx: AskContext) -> Reply:
        text = text.strip()
        if text.startswith("/ops"):
            text = text[len("/ops") :].strip()
        parsed = parse(text)
        ctx = replace(ctx, text=text)
        if isinstance(parsed, ParseProblem):
            return render_problem(parsed, text)
        if parsed.name == "help":
            if parsed.args and parsed.args[0].lower() in BY_NAME:
                return render_command_help(parsed.args[0].lower(), self.available)
            return render_help(self.available)
        handler = self._handlers.get(parsed.name)
        if handler is None:
            return render_coming_soon(parsed.name)
        try:
            return await handler(parsed, ctx)
        except Exception:
            # A bug in one command must still give the user an answer, never a stack trace.
            log.exception("command_failed", command=parsed.name)
            return Reply(
                text=f"Sorry, /ops {parsed.name} failed on my side; the error is logged.",
            )
