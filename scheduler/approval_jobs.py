"""The approvals tick: expire overdue requests, remind approvers, escalate expired requests.

Every replica may run it every minute: the service claims each expiry, reminder and
escalation in the database, so each reaches the notifier exactly once whichever replica wins.
The notifier (the Slack side posts DMs and channel messages) gets only what this replica won.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.approvals.types import TickReport
from scheduler.slots import aligned_start

if TYPE_CHECKING:
    from bot.approvals.service import ApprovalService

log = structlog.get_logger(__name__)

JOB_ID = "approvals_tick"
TICK_EVERY = timedelta(minutes=1)
Notifier = Callable[[TickReport], Awaitable[None]]


async def log_notifier(report: TickReport) -> None:
    """Default notifier when no Slack side is wired: the log shows what would be sent."""
    for reminder in report.reminders:
        log.info("approval.reminder_due", id=reminder.request.id, users=reminder.users)
    for escalation in report.escalations:
        log.info("approval.escalation_due", id=escalation.request.id, team=escalation.team)
    for expired in report.expired:
        log.info("approval.expired", id=expired.id)


async def approvals_tick(
    service: ApprovalService, notify: Notifier = log_notifier, *, now: datetime | None = None
) -> TickReport:
    report = await service.tick(now=now)
    if report.reminders or report.escalations or report.expired:
        try:
            await notify(report)
        except Exception:
            # The claims are taken; a notifier failure is logged with what was not sent.
            log.exception(
                "approval.notify_failed",
                reminders=[r.request.id for r in report.reminders],
                escalations=[e.request.id for e in report.escalations],
            )
    return report


def register_approval_jobs(
    aps: AsyncIOScheduler, *, service: ApprovalService, notify: Notifier | None = None
) -> None:
    seconds = TICK_EVERY.total_seconds()
    aps.add_job(
        approvals_tick,
        IntervalTrigger(seconds=seconds, start_date=aligned_start(seconds)),
        args=[service, notify or log_notifier],
        id=JOB_ID,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        misfire_grace_time=int(seconds),
        next_run_time=datetime.now(UTC),
    )
