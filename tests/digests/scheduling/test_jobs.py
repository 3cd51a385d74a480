"""The scheduler gets one job per enabled digest, firing in the digest's zone, with its grace
period as APScheduler's misfire grace, plus the catch-up and the channel check."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.digest_jobs import CATCH_UP_JOB, CHANNELS_JOB, register_digest_jobs
from tests.digests.scheduling.conftest import Composer, config_with, digest, poster_for


def test_each_enabled_digest_becomes_a_job_in_its_zone(sqlite_engine):
    config = config_with(
        digest("berlin", "0 9 * * MON", zone="Europe/Berlin", grace="2h"),
        digest("ny", "30 8 * * MON-FRI", zone="America/New_York"),
        digest("off", "0 9 * * *", enabled=False),
    )
    services = poster_for(sqlite_engine, config, Composer()).services
    aps = AsyncIOScheduler(timezone="UTC")
    register_digest_jobs(aps, services, replica_id="r1", compose=Composer())
    jobs = {job.id: job for job in aps.get_jobs()}
    assert set(jobs) == {"digest:berlin", "digest:ny", CATCH_UP_JOB, CHANNELS_JOB}
    after = datetime(2026, 7, 1, tzinfo=UTC)  # a Wednesday in summer
    berlin = jobs["digest:berlin"].trigger.get_next_fire_time(None, after)
    assert berlin.astimezone(UTC) == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)  # Mon 09:00 CEST
    ny = jobs["digest:ny"].trigger.get_next_fire_time(None, after)
    assert ny.astimezone(UTC) == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)  # 08:30 EDT
    assert jobs["digest:berlin"].misfire_grace_time == 7200
    assert jobs["digest:ny"].misfire_grace_time == 3600


def test_no_jobs_where_nothing_may_be_sent(sqlite_engine):
    from dataclasses import replace

    config = config_with(digest("berlin", "0 9 * * MON"))
    services = replace(poster_for(sqlite_engine, config, Composer()).services, outbox=None)
    aps = AsyncIOScheduler(timezone="UTC")
    assert register_digest_jobs(aps, services) is None
    assert aps.get_jobs() == []
