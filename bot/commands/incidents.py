"""`/ops incidents [team:T] [all]` and `/ops incident ID`: parse → answer → render, nothing else."""

from __future__ import annotations

from bot.answers.incidents import incident_detail, incident_list, incident_threads
from bot.commands.asked import Asked, answers
from bot.views.incidents import incident_timeline, render_incidents
from bot.views.reply import Reply


@answers(team=True)
async def incidents(asked: Asked) -> Reply:
    deps, ctx = asked.deps, asked.ctx
    listed = await incident_list(deps, team=asked.team, resolved="all" in asked.cmd.args)
    threads = await incident_threads(deps, listed)
    return render_incidents(
        listed,
        tz=deps.user_tz,
        team=asked.team,
        threads=threads,
        command=ctx.text or "incidents",
        page=ctx.page,
    )


@answers()
async def incident(asked: Asked) -> Reply:
    said = asked.cmd.args[0].lstrip("#") if asked.cmd.args else ""
    if not said.isdigit():
        return Reply(text=f"`{said[:20]}` is not an incident number: try `/ops incident 12`.")
    found = await incident_detail(asked.deps, int(said))
    if found is None:
        return Reply(text=f"There is no incident #{said}. `/ops incidents all` lists them.")
    incident, events = found
    rows = [(e.at, e.kind, e.actor, e.detail) for e in events]
    return incident_timeline(incident, rows, tz=asked.deps.user_tz)
