"""`/ops models [team:T]` and `/ops model NAME`: resolve names → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.deps import AnswerDeps
from bot.answers.entities import Unknown
from bot.answers.models import model_board, model_detail
from bot.commands.asked import Asked, answers
from bot.views.models import render_model, render_models
from bot.views.reply import Reply
from bot.views.unknown import render_unknown


@answers(team=True)
async def models(asked: Asked) -> Reply:
    deps, ctx = asked.deps, asked.ctx
    board = await model_board(deps, team=asked.team)
    return render_models(board, command=ctx.text or "models", page=ctx.page, tz=deps.user_tz)


@answers()
async def model(asked: Asked) -> Reply:
    deps = asked.deps
    found = await model_detail(deps, asked.cmd.args[0])
    if isinstance(found, Unknown):
        known = [] if found.suggestions else await _model_names(deps)
        return render_unknown(found, known=known, command=asked.ctx.text)
    return render_model(found, tz=deps.user_tz, now=deps.now)


async def _model_names(deps: AnswerDeps) -> list[str]:
    """Every model name, for an unknown name with no close match (sources cache the list)."""
    return sorted({m.name for m in (await deps.sources.all_models()).value})
