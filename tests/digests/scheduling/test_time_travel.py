"""When digests post, under a clock the test moves: DST changes, month ends, missed slots inside and
outside the grace period, and only the latest missed slot after downtime."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from bot.digests.posting import Outcome
from tests.digests.scheduling.conftest import Composer, config_with, digest, poster_for, roots


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def tick_through(poster, name: str, start: datetime, end: datetime, step: timedelta) -> None:  # type: ignore[no-untyped-def]
    """A scheduler that wakes every `step`: each wake runs the digest's due slot."""
    now = start
    while now <= end:
        await poster.run_due(name, now=now)
        now += step


def posted_at(composer: Composer) -> list[datetime]:
    return [c["now"] for c in composer.calls]


async def test_berlin_digest_keeps_nine_oclock_local_across_the_spring_change(sqlite_engine):
    composer = Composer()
    config = config_with(digest("daily", "0 9 * * *", zone="Europe/Berlin"))
    poster = poster_for(sqlite_engine, config, composer)
    # 29 March 2026: Berlin goes from UTC+1 to UTC+2 at 02:00 local.
    await tick_through(
        poster, "daily", utc(2026, 3, 27, 6), utc(2026, 3, 31, 10), timedelta(minutes=5)
    )
    berlin = ZoneInfo("Europe/Berlin")
    assert [t.astimezone(berlin).strftime("%m-%d %H:%M") for t in posted_at(composer)] == [
        "03-27 09:00",
        "03-28 09:00",
        "03-29 09:00",
        "03-30 09:00",
        "03-31 09:00",
    ]
    # In UTC the post moves an hour earlier on the day the clocks change.
    assert [t.hour for t in posted_at(composer)] == [8, 8, 7, 7, 7]
    assert len(roots(sqlite_engine, "daily")) == 5


async def test_a_time_inside_the_repeated_autumn_hour_posts_once_in_berlin(sqlite_engine):
    composer = Composer()
    config = config_with(digest("night", "30 2 * * *", zone="Europe/Berlin"))
    poster = poster_for(sqlite_engine, config, composer)
    # 25 October 2026: 02:00-03:00 local happens twice (CEST, then CET); APScheduler fires both.
    await tick_through(
        poster, "night", utc(2026, 10, 24, 0), utc(2026, 10, 26, 3), timedelta(minutes=5)
    )
    days = Counter(
        t.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat() for t in posted_at(composer)
    )
    assert days == {"2026-10-24": 1, "2026-10-25": 1, "2026-10-26": 1}


async def test_new_york_digest_follows_both_dst_changes(sqlite_engine):
    composer = Composer()
    config = config_with(digest("ny", "30 1 * * *", zone="America/New_York"))
    poster = poster_for(sqlite_engine, config, composer)
    # 8 March 2026 02:00 → 03:00; 1 November 2026 the 01:00 hour repeats.
    await tick_through(poster, "ny", utc(2026, 3, 7, 0), utc(2026, 3, 9, 12), timedelta(minutes=10))
    await tick_through(
        poster, "ny", utc(2026, 10, 31, 0), utc(2026, 11, 2, 12), timedelta(minutes=10)
    )
    new_york = ZoneInfo("America/New_York")
    local = [t.astimezone(new_york).strftime("%m-%d %H:%M") for t in posted_at(composer)]
    assert local == [
        "03-07 01:30",
        "03-08 01:30",
        "03-09 01:30",
        "10-31 01:30",
        "11-01 01:30",
        "11-02 01:30",
    ]
    assert [t.hour for t in posted_at(composer)] == [6, 6, 5, 5, 5, 6]  # EST, EST, EDT… EDT, EST


async def test_day_31_schedule_skips_short_months_and_posts_at_month_end(sqlite_engine):
    composer = Composer()
    config = config_with(digest("month-end", "0 18 31 * *", zone="UTC"))
    poster = poster_for(sqlite_engine, config, composer)
    now = utc(2026, 1, 30, 0)
    while now <= utc(2026, 5, 2, 0):
        await poster.run_due("month-end", now=now)
        now += timedelta(hours=1)
    assert [t.strftime("%Y-%m-%d %H:%M") for t in posted_at(composer)] == [
        "2026-01-31 18:00",
        "2026-03-31 18:00",
    ]


async def test_a_slot_missed_while_down_is_posted_late_once_within_the_grace_period(sqlite_engine):
    composer = Composer()
    config = config_with(digest("weekly", "0 9 * * MON", zone="Europe/Berlin", grace="1h"))
    poster = poster_for(sqlite_engine, config, composer)
    # Down over Monday 09:00 Berlin (07:00 UTC in summer); back at 09:40 local.
    result = await poster.run_due("weekly", now=utc(2026, 6, 1, 7, 40))
    assert result.outcome is Outcome.late
    assert composer.calls[0]["late_by"] == timedelta(minutes=40)
    again = await poster.run_due("weekly", now=utc(2026, 6, 1, 7, 45))
    assert again.outcome is Outcome.elsewhere
    assert len(roots(sqlite_engine, "weekly")) == 1


def _missed() -> float:
    return REGISTRY.get_sample_value("switchboard_digest_slots_total", {"outcome": "missed"}) or 0.0


async def test_a_slot_missed_past_the_grace_period_is_skipped_with_a_log_line_and_a_metric(
    sqlite_engine,
):
    composer = Composer()
    config = config_with(digest("weekly", "0 9 * * MON", zone="Europe/Berlin", grace="30m"))
    poster = poster_for(sqlite_engine, config, composer)
    assert (await poster.run_due("weekly", now=utc(2026, 5, 25, 7, 0))).outcome is Outcome.posted
    before = _missed()
    with capture_logs() as logs:  # down over the next Monday 09:00 Berlin, back at 09:45
        result = await poster.run_due("weekly", now=utc(2026, 6, 1, 7, 45))
        again = await poster.run_due("weekly", now=utc(2026, 6, 1, 7, 50))
    assert result.outcome is Outcome.missed and again.outcome is Outcome.elsewhere
    assert len(composer.calls) == 1 and len(roots(sqlite_engine, "weekly")) == 1
    missed = [e for e in logs if e["event"] == "digest.slot_missed"]
    assert len(missed) == 1 and missed[0]["late_by_s"] == 45 * 60
    assert _missed() == before + 1
    # The next Monday posts as usual.
    assert (await poster.run_due("weekly", now=utc(2026, 6, 8, 7, 0))).outcome is Outcome.posted


async def test_a_slot_that_passed_before_the_digest_was_first_seen_is_not_reported_missed(
    sqlite_engine,
):
    # A new install (or the demo's fresh database, or a digest just added to ops.yml) starts
    # long after the digest's last slot: nothing was missed, so no warning and no metric. From
    # then on the digest is known, and an outage is reported.
    composer = Composer()
    config = config_with(digest("monthly", "0 10 1 * *", zone="UTC", grace="1h"))
    poster = poster_for(sqlite_engine, config, composer)
    before = _missed()
    with capture_logs() as logs:
        first = await poster.run_due("monthly", now=utc(2026, 6, 20, 12, 0))
        again = await poster.run_due("monthly", now=utc(2026, 6, 20, 12, 5))
    assert (first.outcome, first.slot) == (Outcome.first, "2026-06-01T10:00")
    assert again.outcome is Outcome.elsewhere
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == []
    assert _missed() == before and composer.calls == []
    # Down over 1 July 10:00 and back at 14:00: that one was missed, and says so.
    with capture_logs() as logs:
        later = await poster.run_due("monthly", now=utc(2026, 7, 1, 14, 0))
    assert later.outcome is Outcome.missed and _missed() == before + 1
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["digest.slot_missed"]


async def test_after_days_of_downtime_only_the_latest_missed_slot_is_posted(sqlite_engine):
    composer = Composer()
    config = config_with(digest("daily", "0 9 * * *", zone="UTC", grace="2h"))
    poster = poster_for(sqlite_engine, config, composer)
    await poster.run_due("daily", now=utc(2026, 6, 1, 9, 0))  # Monday, on time
    # Down from Monday 10:00 until Thursday 10:15: Tuesday's, Wednesday's and Thursday's missed.
    result = await poster.run_due("daily", now=utc(2026, 6, 4, 10, 15))
    assert result.outcome is Outcome.late and result.slot == "2026-06-04T09:00"
    await tick_through(
        poster, "daily", utc(2026, 6, 4, 10, 20), utc(2026, 6, 4, 23, 0), timedelta(minutes=15)
    )
    assert [c["now"].day for c in composer.calls] == [1, 4]
    assert composer.calls[1]["late_by"] == timedelta(hours=1, minutes=15)
    # The late post compares against Monday's, the last one posted.
    assert composer.calls[1]["previous"] == {"run": 1, "at": "2026-06-01T09:00:00+00:00"}
    assert len(roots(sqlite_engine, "daily")) == 2


async def test_digest_without_timezone_follows_the_workspace_zone(sqlite_engine):
    composer = Composer()
    config = config_with(digest("ws", "0 9 * * *", zone=None))
    assert config.workspace.timezone == "Europe/Berlin"
    poster = poster_for(sqlite_engine, config, composer)
    await tick_through(poster, "ws", utc(2026, 1, 5, 6), utc(2026, 1, 5, 10), timedelta(minutes=5))
    assert [t.hour for t in posted_at(composer)] == [8]  # 09:00 CET


async def test_a_monthly_digest_posted_weeks_ago_is_not_reported_missed_after_its_claim_is_pruned(
    sqlite_engine,
):
    from sqlalchemy import delete

    from bot.store.models import JobSlot

    composer = Composer()
    config = config_with(digest("monthly", "0 10 1 * *", zone="UTC"))
    poster = poster_for(sqlite_engine, config, composer)
    assert (await poster.run_due("monthly", now=utc(2026, 6, 1, 10, 0))).outcome is Outcome.posted
    with sqlite_engine.begin() as conn:  # the daily prune drops claims older than a week
        conn.execute(delete(JobSlot.__table__))  # type: ignore[attr-defined]
    before = _missed()
    restarted = await poster.run_due("monthly", now=utc(2026, 6, 20, 12, 0))
    assert restarted.outcome is Outcome.elsewhere and _missed() == before
    assert len(composer.calls) == 1


async def test_the_demos_catch_up_just_after_a_slot_is_on_time_not_late(sqlite_engine):
    """`switchboard demo` starts between two slots of its two-minute digest: the catch-up posts
    the slot that just passed. A minute and a half after it is the scheduler's ordinary slack,
    not lateness: posted as of the slot, with no "Late by" note."""
    from bot.sandbox.demo_digest import DEMO_DIGEST
    from scheduler.digest_jobs import digests_catch_up

    composer = Composer()
    pulse = digest(DEMO_DIGEST["name"], DEMO_DIGEST["schedule"], zone="Europe/Berlin")
    poster = poster_for(sqlite_engine, config_with(pulse), composer)
    started = utc(2026, 11, 23, 12, 1, 30)  # 90 s after the 12:00 slot
    await digests_catch_up(poster, [pulse.name], lambda: started)
    assert [(c["now"], c["late_by"]) for c in composer.calls] == [(utc(2026, 11, 23, 12), None)]
    assert " late " not in roots(sqlite_engine, pulse.name)[0].payload


async def test_a_post_within_the_misfire_tolerance_is_on_time_and_one_past_it_is_late(
    sqlite_engine,
):
    from bot.digests.schedule import ON_TIME

    composer = Composer()
    names = ("woken-late", "at-the-limit", "past-it", "after-an-outage")
    config = config_with(*(digest(n, "0 9 * * *", zone="UTC") for n in names))
    poster = poster_for(sqlite_engine, config, composer)
    slot = utc(2026, 6, 1, 9)
    # A scheduler woken a few minutes after the slot (a busy loop, a restart) is on time.
    behind = [
        timedelta(minutes=4),
        ON_TIME,
        ON_TIME + timedelta(seconds=1),
        timedelta(minutes=20),  # a replica outage: late, and it says by how much
    ]
    outcomes = [
        (await poster.run_due(name, now=slot + by)).outcome
        for name, by in zip(names, behind, strict=True)
    ]
    assert outcomes == [Outcome.posted, Outcome.posted, Outcome.late, Outcome.late]
    assert [c["late_by"] for c in composer.calls] == [None, None, *behind[2:]]
    assert [c["now"] for c in composer.calls[:2]] == [slot, slot]  # composed as of the slot
