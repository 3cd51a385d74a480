"""`/ops status [team:T]` and `/ops pipeline NAME`: parse → answer → render, nothing else."""

from __future__ import annotations

from dataclasses import replace

from bot.answers.deps import deps_for
from bot.answers.entities import Unknown, team_filter
from bot.answers.pipelines import pipeline_board, pipeline_detail
from bot.answers.scorecard import team_scorecard
from bot.commands.dispatch import AskContext
from bot.commands.grammar import ParsedCommand
from bot.views.format import code
from bot.views.limits import fit_message
from bot.views.mrkdwn import context
from bot.views.pipelines import render_pipeline, render_status, render_unknown_pipeline
from bot.views.reply import Reply
from bot.views.scorecard import render_scorecard
from bot.views.unknown import render_unknown


async def status(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    """Every pipeline's state; with team:T, that team's scorecard across the three domains."""
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    team = team_filter(deps.config, cmd.filters)
    if isinstance(team, Unknown):
        return render_unknown(team, known=sorted(deps.config.teams), command=ctx.text)
    if team is not None:
        card = await team_scorecard(deps, team)
        return render_scorecard(card, tz=deps.user_tz, command=ctx.text or None, page=ctx.page)
    board = await pipeline_board(deps)
    return render_status(
        board, now=deps.now, tz=deps.user_tz, command=ctx.text or "status", page=ctx.page
    )


async def pipeline(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    asked = " ".join(cmd.args)
    found = await pipeline_detail(deps, asked)
    if isinstance(found, Unknown):
        return render_unknown_pipeline(found)
    reply = render_pipeline(found, tz=deps.user_tz)
    if found.name != asked:
        # A loose match is shown, but the answer says so: the user may have meant another one.
        note = context(f"Showing {code(found.name)}, the closest match to {code(asked)}.")
        reply = replace(reply, blocks=fit_message([note, *reply.blocks]))
    return reply
