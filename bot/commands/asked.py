"""What every `/ops` handler starts from, done once: `@answers` gives a handler the question with
its answer's dependencies (or replies that no ops.yml is loaded) and, with `team=True`, the team of
a `team:T` filter resolved (an unknown team is answered with the closest names)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown, team_filter
from bot.commands.context import AskContext, deps_for
from bot.commands.grammar import ParsedCommand
from bot.views.reply import Reply
from bot.views.unknown import render_unknown

Handler = Callable[[ParsedCommand, AskContext], Awaitable[Reply]]


@dataclass(frozen=True)
class Asked:
    """A command as its handler answers it."""

    cmd: ParsedCommand
    ctx: AskContext
    deps: AnswerDeps
    team: str | None = None  # the `team:T` filter's team (only with `@answers(team=True)`)


AskedHandler = Callable[[Asked], Awaitable[Reply]]


def answers(*, team: bool = False) -> Callable[[AskedHandler], Handler]:
    """A router handler from `handler(asked)`: the dependencies come first, then (with `team`)
    the team filter; either failing is answered here and the handler does not run."""

    def wrap(handler: AskedHandler) -> Handler:
        @functools.wraps(handler)
        async def run(cmd: ParsedCommand, ctx: AskContext) -> Reply:
            deps = deps_for(ctx)
            if isinstance(deps, Reply):
                return deps
            slug = team_filter(deps.config, cmd.filters) if team else None
            if isinstance(slug, Unknown):
                return render_unknown(slug, known=sorted(deps.config.teams), command=ctx.text)
            return await handler(Asked(cmd, ctx, deps, slug))

        return run

    return wrap
