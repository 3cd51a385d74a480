"""The approvals tick: expire overdue requests, remind approvers, escalate, run approved requests
whose execution stalled, and deliver every notice not yet delivered.

Every replica may run it every minute: the service claims each expiry, reminder and escalation
in the database and writes what people must be told in the same transaction, so each happens
once whichever replica wins, and each notice is delivered (retried by later ticks) until sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.approvals.types import Notice, NoticeHandler, RequestSnapshot, TickReport
from scheduler.slots import aligned_start

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService
    from bot.services import Services

log = structlog.get_logger(__name__)

JOB_ID = "approvals_tick"
TICK_EVERY = timedelta(minutes=1)


async def log_notices(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
    """Default handler when no Slack side is wired: the log shows what would be sent."""
    for notice in notices:
        log.info("approval.notice", id=snapshot.id, kind=notice.kind, detail=notice.detail)


async def approvals_tick(
    service: ApprovalService, deliver: NoticeHandler = log_notices, *, now: datetime | None = None
) -> TickReport:
    report = await service.tick(now=now, deliver=deliver)
    if report.reminders or report.escalations or report.expired or report.executed:
        log.info(
            "approval.tick",
            expired=[r.id for r in report.expired],
            reminders=[r.request.id for r in report.reminders],
            escalations=[e.request.id for e in report.escalations],
            executed=[r.id for r in report.executed],
            notices_sent=report.notices_sent,
        )
    return report


def register_approval_jobs(aps: AsyncIOScheduler, services: Services) -> None:
    """The approvals tick, when ops.yml sets up approvals; it delivers through the services'
    ApprovalNotifier (the log stands in where nothing is sent)."""
    if services.approvals is None:
        return
    seconds = TICK_EVERY.total_seconds()
    deliver: NoticeHandler = services.approval_notices or log_notices
    aps.add_job(
        approvals_tick,
        IntervalTrigger(seconds=seconds, start_date=aligned_start(seconds)),
        args=[services.approvals, deliver],
        id=JOB_ID,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        misfire_grace_time=int(seconds),
        next_run_time=datetime.now(UTC),
    )
