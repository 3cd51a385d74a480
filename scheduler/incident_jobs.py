"""The incidents flush: every few seconds, each dirty incident whose coalescing interval has
passed gets one root update and one reply with its news (claimed per incident in the database,
so replicas running it together queue each once)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

if TYPE_CHECKING:
    from bot.incidents.service import IncidentService
    from bot.services import Services

JOB_ID = "incidents_flush"
MAX_EVERY = 5.0


async def incidents_flush(service: IncidentService) -> int:
    return await asyncio.to_thread(service.flush_due)


def register_incident_jobs(aps: AsyncIOScheduler, services: Services) -> None:
    if services.incidents is None:
        return
    every = max(1.0, min(MAX_EVERY, services.incidents.coalesce / 6))
    aps.add_job(
        incidents_flush,
        IntervalTrigger(seconds=every),
        args=[services.incidents],
        id=JOB_ID,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        misfire_grace_time=int(every) + 1,
        next_run_time=datetime.now(UTC),
    )
