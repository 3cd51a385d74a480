"""`/ops status [team:T]` and `/ops pipeline NAME`: parse → answer → render, nothing else."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.entities import Unknown
from bot.answers.pipelines import pipeline_board, pipeline_detail
from bot.answers.scorecard import team_scorecard
from bot.commands.asked import Asked, answers
from bot.views.format import code
from bot.views.limits import fit_message
from bot.views.mrkdwn import context
from bot.views.pipelines import render_pipeline, render_status, render_unknown_pipeline
from bot.views.reply import Reply
from bot.views.scorecard import render_scorecard


@answers(team=True)
async def status(asked: Asked) -> Reply:
    """Every pipeline's state; with team:T, that team's scorecard across the three domains."""
    deps, ctx = asked.deps, asked.ctx
    if asked.team is not None:
        card = await team_scorecard(deps, asked.team)
        return render_scorecard(card, tz=deps.user_tz, command=ctx.text or None, page=ctx.page)
    board = await pipeline_board(deps)
    return render_status(
        board, now=deps.now, tz=deps.user_tz, command=ctx.text or "status", page=ctx.page
    )


@answers()
async def pipeline(asked: Asked) -> Reply:
    name = " ".join(asked.cmd.args)
    found = await pipeline_detail(asked.deps, name)
    if isinstance(found, Unknown):
        return render_unknown_pipeline(found)
    reply = render_pipeline(found, tz=asked.deps.user_tz)
    if found.name != name:
        # A loose match is shown, but the answer says so: the user may have meant another one.
        note = context(f"Showing {code(found.name)}, the closest match to {code(name)}.")
        reply = replace(reply, blocks=fit_message([note, *reply.blocks]))
    return reply
