"""The approvals_tick scheduler job: reminders and escalations reach the notifier once."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

from bot.approvals.types import Notice, RequestSnapshot
from bot.services import Services
from bot.settings import Settings
from scheduler.approval_jobs import JOB_ID, approvals_tick
from scheduler.runner import build_scheduler
from tests.approvals.conftest import AN, DE, ML


async def test_tick_delivers_each_notice_once_in_order(service, clock):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)
    told: list[tuple[str, dict]] = []

    async def deliver(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        told.extend((n.kind, n.detail) for n in notices)

    await approvals_tick(service, deliver)
    assert told == [("announce", {})]  # the cards of a request nobody announced yet
    await approvals_tick(service, deliver)
    await approvals_tick(service, deliver, now=clock.now + timedelta(hours=24))
    await approvals_tick(service, deliver, now=clock.now + timedelta(hours=25))
    await approvals_tick(service, deliver, now=clock.now + timedelta(hours=73))
    assert [k for k, _ in told] == ["announce", "remind", "card", "expired"]
    assert told[1][1] == {"users": AN + ML}
    assert told[3][1] == {"team": "ml-platform"}


async def test_a_failing_delivery_is_logged_and_offered_again_until_it_succeeds(service, clock):
    made = await service.request_promotion(
        requester=DE[0], model="ltv", version="6", alias="champion", reason=None, surface="dm"
    )
    assert isinstance(made, RequestSnapshot)

    async def broken(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        raise RuntimeError("slack down")

    with capture_logs() as logs:
        report = await approvals_tick(service, broken, now=clock.now + timedelta(hours=24))
    assert len(report.reminders) == 1 and report.notices_sent == 0
    assert [e["id"] for e in logs if e["event"] == "approval.notice_delivery_failed"] == [made.id]

    later: list[str] = []

    async def working(snapshot: RequestSnapshot, notices: list[Notice]) -> None:
        later.extend(n.kind for n in notices)

    report = await approvals_tick(service, working, now=clock.now + timedelta(hours=24, minutes=1))
    assert report.reminders == [] and later == ["announce", "remind"]  # the same, not new ones
    await approvals_tick(service, working, now=clock.now + timedelta(hours=24, minutes=2))
    assert later == ["announce", "remind"]


def test_the_job_is_registered_only_with_an_approval_service(db_url, db_engine, service):
    settings = Settings(_env_file=None, database_url=db_url)  # type: ignore[call-arg]
    without = build_scheduler(settings, db_engine, replica_id="a")
    with_approvals = build_scheduler(
        settings,
        db_engine,
        replica_id="b",
        services=Services(settings=settings, engine=db_engine, approvals=service),
    )
    assert JOB_ID not in without.job_ids()
    assert JOB_ID in with_approvals.job_ids()
