"""`/ops incidents [team:T]`: parse → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.incidents import incident_list, incident_threads
from bot.commands.asked import Asked, answers
from bot.views.incidents import render_incidents
from bot.views.reply import Reply


@answers(team=True)
async def incidents(asked: Asked) -> Reply:
    deps, ctx = asked.deps, asked.ctx
    listed = await incident_list(deps, team=asked.team)
    threads = await incident_threads(deps, listed)
    return render_incidents(
        listed,
        tz=deps.user_tz,
        team=asked.team,
        threads=threads,
        command=ctx.text or "incidents",
        page=ctx.page,
    )
