"""The approvals_tick scheduler job: reminders and escalations reach the notifier once."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

from bot.approvals.types import RequestSnapshot, TickReport
from bot.settings import Settings
from scheduler.approval_jobs import JOB_ID, approvals_tick
from scheduler.runner import build_scheduler
from tests.approvals.conftest import AN, DE, ML


async def test_tick_hands_reminders_and_escalations_to_the_notifier_once(service, clock):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    told: list[TickReport] = []

    async def notify(report: TickReport) -> None:
        told.append(report)

    await approvals_tick(service, notify)
    assert told == []  # nothing due yet: the notifier is not bothered
    await approvals_tick(service, notify, now=clock.now + timedelta(hours=24))
    await approvals_tick(service, notify, now=clock.now + timedelta(hours=25))
    await approvals_tick(service, notify, now=clock.now + timedelta(hours=73))
    assert [(len(r.reminders), len(r.escalations), len(r.expired)) for r in told] == [
        (1, 0, 0),
        (0, 1, 1),
    ]
    assert told[0].reminders[0].users == AN + ML
    assert told[1].escalations[0].team == "ml-platform"


async def test_a_failing_notifier_is_logged_not_raised(service, clock):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)

    async def broken(report: TickReport) -> None:
        raise RuntimeError("slack down")

    with capture_logs() as logs:
        report = await approvals_tick(service, broken, now=clock.now + timedelta(hours=24))
    assert len(report.reminders) == 1
    assert [e["reminders"] for e in logs if e["event"] == "approval.notify_failed"] == [[made.id]]


def test_the_job_is_registered_only_with_an_approval_service(db_url, db_engine, service):
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    without = build_scheduler(settings, db_engine, replica_id="a")
    with_approvals = build_scheduler(settings, db_engine, replica_id="b", approvals=service)
    assert JOB_ID not in without.job_ids()
    assert JOB_ID in with_approvals.job_ids()
