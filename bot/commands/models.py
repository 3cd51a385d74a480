"""`/ops models [team:T]` and `/ops model NAME`: resolve names → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.deps import AnswerDeps, deps_for
from bot.answers.entities import Unknown, team_filter
from bot.answers.models import model_board, model_detail
from bot.commands.dispatch import AskContext
from bot.commands.grammar import ParsedCommand
from bot.views.models import render_model, render_models
from bot.views.reply import Reply
from bot.views.unknown import render_unknown


async def models(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    team = team_filter(deps.config, cmd.filters)
    if isinstance(team, Unknown):
        return render_unknown(team, known=sorted(deps.config.teams), command=ctx.text)
    board = await model_board(deps, team=team)
    return render_models(board, command=ctx.text or "models", page=ctx.page, tz=deps.user_tz)


async def model(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    found = await model_detail(deps, cmd.args[0])
    if isinstance(found, Unknown):
        known = [] if found.suggestions else await _model_names(deps)
        return render_unknown(found, known=known, command=ctx.text)
    return render_model(found, tz=deps.user_tz, now=deps.now)


async def _model_names(deps: AnswerDeps) -> list[str]:
    """Every model name, for an unknown name with no close match (sources cache the list)."""
    return sorted({m.name for m in (await deps.sources.all_models()).value})
