"""`/ops incidents [team:T]`: the open and acknowledged incidents, and where their threads are."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.answers.deps import AnswerDeps
from bot.incidents.queries import (
    RootPost,
    incident_with_timeline,
    open_incidents,
    recent_incidents,
    root_posts,
)
from bot.store.models import Incident, IncidentEvent


async def incident_list(
    deps: AnswerDeps, *, team: str | None = None, resolved: bool = False
) -> list[Incident]:
    """Open incidents (all, or `team`'s, a known slug), most severe first, then with `resolved`
    the most recently resolved; none without a store."""
    if deps.engine is None:
        return []
    if resolved:
        return await asyncio.to_thread(recent_incidents, deps.engine, team=team)
    return await asyncio.to_thread(open_incidents, deps.engine, team=team)


async def incident_detail(
    deps: AnswerDeps, incident_id: int
) -> tuple[Incident, list[IncidentEvent]] | None:
    if deps.engine is None:
        return None
    return await asyncio.to_thread(incident_with_timeline, deps.engine, incident_id)


async def incident_threads(deps: AnswerDeps, incidents: Sequence[Incident]) -> dict[int, RootPost]:
    """Incident id -> its thread's root post, for the incidents whose root message was sent."""
    if deps.engine is None or not incidents:
        return {}
    return await asyncio.to_thread(root_posts, deps.engine, incidents)
