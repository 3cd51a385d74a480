"""`/ops incidents [team:T]`: parse → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.deps import deps_for
from bot.answers.entities import Unknown, team_filter
from bot.answers.incidents import incident_list, incident_threads
from bot.commands.dispatch import AskContext
from bot.commands.grammar import ParsedCommand
from bot.views.incidents import render_incidents
from bot.views.reply import Reply
from bot.views.unknown import render_unknown


async def incidents(cmd: ParsedCommand, ctx: AskContext) -> Reply:
    deps = deps_for(ctx)
    if isinstance(deps, Reply):
        return deps
    team = team_filter(deps.config, cmd.filters)
    if isinstance(team, Unknown):
        return render_unknown(team, known=sorted(deps.config.teams), command=ctx.text)
    listed = await incident_list(deps, team=team)
    threads = await incident_threads(deps, listed)
    return render_incidents(
        listed,
        tz=deps.user_tz,
        team=team,
        threads=threads,
        command=ctx.text or "incidents",
        page=ctx.page,
    )
