"""`/ops incidents [team:T]`: the open and acknowledged incidents, and where their threads are."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.answers.deps import AnswerDeps
from bot.incidents.queries import RootPost, open_incidents, root_posts
from bot.store.models import Incident


async def incident_list(deps: AnswerDeps, *, team: str | None = None) -> list[Incident]:
    """Open incidents (all, or `team`'s, a known slug), most severe first; none without a store."""
    if deps.engine is None:
        return []
    return await asyncio.to_thread(open_incidents, deps.engine, team=team)


async def incident_threads(deps: AnswerDeps, incidents: Sequence[Incident]) -> dict[int, RootPost]:
    """Incident id -> its thread's root post, for the incidents whose root message was sent."""
    if deps.engine is None or not incidents:
        return {}
    return await asyncio.to_thread(root_posts, deps.engine, incidents)
