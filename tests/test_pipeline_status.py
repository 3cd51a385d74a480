"""Lateness, SLA and last success of a pipeline, from its cron schedule and recent runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.models import Pipeline, PipelineRun, RunState
from integrations.pipeline_status import (
    cron_trigger,
    last_slot_before,
    next_slot_after,
    pipeline_status,
)

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
H = timedelta(hours=1)


def nightly(**changes: object) -> Pipeline:
    fields: dict[str, object] = {
        "name": "nightly_orders",
        "source": "airflow",
        "schedule": "0 2 * * *",
        "sla": H,
    }
    fields.update(changes)
    return Pipeline.model_validate(fields)


def run(
    state: RunState,
    started: datetime | None,
    *,
    pipeline: str = "nightly_orders",
    scheduled: datetime | None = None,
    ended: datetime | None = None,
    run_id: str | None = None,
) -> PipelineRun:
    return PipelineRun(
        pipeline=pipeline,
        run_id=run_id or f"r-{state}-{started}",
        state=state,
        started_at=started,
        scheduled_for=scheduled,
        ended_at=ended if ended is not None or started is None else started + timedelta(minutes=5),
    )


def at(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# -- examples -----------------------------------------------------------------------------
def test_success_after_todays_slot_is_not_late_and_next_deadline_is_tomorrow() -> None:
    status = pipeline_status(nightly(), [run(RunState.success, at(2, 1))], now=NOW)
    assert status.late is False
    assert status.last_success_at == at(2, 6)
    assert status.expected_by == at(3, day=24)


def test_no_success_since_slot_is_late_once_sla_has_passed() -> None:
    yesterday = run(RunState.success, at(2, 1, day=22))
    assert pipeline_status(nightly(), [yesterday], now=at(2, 59)).late is False
    status = pipeline_status(nightly(), [yesterday], now=at(3, 0, day=23) + timedelta(seconds=1))
    assert status.late is True
    assert status.expected_by == at(3)


def test_failed_run_for_the_slot_leaves_the_pipeline_late() -> None:
    runs = [run(RunState.failed, at(2, 1)), run(RunState.success, at(2, 1, day=22))]
    status = pipeline_status(nightly(), runs, now=NOW)
    assert status.late is True
    assert status.last_run is not None and status.last_run.state is RunState.failed
    assert status.last_success_at == at(2, 6, day=22)


def test_run_still_running_past_the_deadline_is_late() -> None:
    running = run(RunState.running, at(2, 1), ended=None)
    running = running.model_copy(update={"ended_at": None})
    assert pipeline_status(nightly(), [running], now=NOW).late is True


def test_run_still_running_before_the_deadline_is_not_late_yet() -> None:
    running = run(RunState.running, at(2, 1)).model_copy(update={"ended_at": None})
    previous = run(RunState.success, at(2, 0, day=22))
    status = pipeline_status(nightly(), [running, previous], now=at(2, 30))
    assert status.late is False
    assert status.expected_by == at(3)


def test_run_scheduled_for_the_slot_covers_it_even_if_its_start_time_is_missing() -> None:
    done = run(RunState.success, None, scheduled=at(2), ended=at(2, 10))
    assert pipeline_status(nightly(), [done], now=NOW).late is False


def test_success_that_started_before_the_slot_does_not_cover_it() -> None:
    long_run = run(RunState.success, at(1, 0), ended=at(2, 30))
    assert pipeline_status(nightly(), [long_run], now=NOW).late is True


def test_paused_and_unscheduled_pipelines_are_never_late() -> None:
    assert pipeline_status(nightly(paused=True), [], now=NOW).late is False
    for schedule in (None, "@once", "Asset", "every 3600s", "61 2 * * *"):
        status = pipeline_status(nightly(schedule=schedule), [], now=NOW)
        assert status.late is False and status.expected_by is None, schedule


def test_scheduled_pipeline_that_never_succeeded_is_late() -> None:
    status = pipeline_status(nightly(), [run(RunState.failed, at(2, 1))], now=NOW)
    assert status.late is True and status.last_success_at is None


def test_without_sla_the_run_must_succeed_before_the_next_slot() -> None:
    no_sla = nightly(sla=None)
    yesterday = run(RunState.success, at(2, 1, day=22))
    # Today's 02:00 run is missing, but its deadline is tomorrow's 02:00 slot.
    status = pipeline_status(no_sla, [yesterday], now=NOW)
    assert status.late is False and status.expected_by == at(2, day=24)
    two_days_ago = run(RunState.success, at(2, 1, day=21))
    status = pipeline_status(no_sla, [two_days_ago], now=NOW)
    assert status.late is True and status.expected_by == at(2)


def test_default_sla_applies_only_when_the_pipeline_has_none() -> None:
    yesterday = run(RunState.success, at(2, 1, day=22))
    assert pipeline_status(nightly(sla=None), [yesterday], now=NOW, default_sla=H).late is True
    own = nightly(sla=timedelta(hours=12))
    assert pipeline_status(own, [yesterday], now=NOW, default_sla=H).late is False


def test_schedule_is_read_in_the_pipelines_timezone() -> None:
    berlin = nightly(schedule_timezone="Europe/Berlin")  # 02:00 CET is 01:00 UTC in November
    ran = run(RunState.success, at(1, 5))
    assert pipeline_status(berlin, [ran], now=NOW).late is False
    assert pipeline_status(nightly(), [ran], now=NOW).late is True


def test_deadline_across_a_dst_change_is_the_sla_in_real_time_not_wall_clock() -> None:
    # 01:30 CEST on the night Berlin falls back is 23:30 UTC; two hours later is 01:30 UTC,
    # while wall-clock arithmetic would say 03:30 CET = 02:30 UTC.
    berlin = nightly(
        schedule="30 1 * * *", schedule_timezone="Europe/Berlin", sla=timedelta(hours=2)
    )
    older = run(RunState.success, datetime(2025, 10, 24, 23, 35, tzinfo=UTC))
    status = pipeline_status(berlin, [older], now=datetime(2025, 10, 26, 2, 0, tzinfo=UTC))
    assert status.late is True
    assert status.expected_by == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


def test_slots_inside_the_repeated_hour_of_a_fall_back_are_found_without_looping() -> None:
    trigger = cron_trigger("*/15 * * * *", "Europe/Berlin")
    assert trigger is not None
    moment = datetime(2025, 10, 26, 1, 10, tzinfo=UTC)  # 02:10 CET, the hour's second pass
    slot = last_slot_before(trigger, moment)
    assert slot is not None and moment - timedelta(minutes=15) <= slot < moment


def test_presets_are_understood_like_their_cron() -> None:
    hourly = nightly(schedule="@hourly", sla=timedelta(minutes=10))
    assert pipeline_status(hourly, [run(RunState.success, at(9, 2))], now=NOW).late is False
    assert pipeline_status(hourly, [run(RunState.success, at(8, 2))], now=NOW).late is True


def test_runs_come_back_newest_first_and_only_for_this_pipeline() -> None:
    runs = [
        run(RunState.success, at(1), run_id="old"),
        run(RunState.failed, at(5), run_id="new"),
        run(RunState.success, at(6), pipeline="churn_features", run_id="other"),
        run(RunState.queued, None, scheduled=at(4), ended=None, run_id="queued"),
    ]
    status = pipeline_status(nightly(), runs, now=NOW)
    assert [r.run_id for r in status.runs] == ["new", "queued", "old"]


def test_naive_now_is_read_as_utc() -> None:
    ran = run(RunState.success, at(2, 1))
    naive = pipeline_status(nightly(), [ran], now=NOW.replace(tzinfo=None))
    assert naive == pipeline_status(nightly(), [ran], now=NOW)


# -- properties ---------------------------------------------------------------------------
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
# Instants where Berlin and New York change their clocks, and times up to a day either side:
# where wall-clock arithmetic goes wrong.
DST_CHANGES = [
    datetime(2025, 3, 30, 1, tzinfo=UTC),
    datetime(2025, 10, 26, 1, tzinfo=UTC),
    datetime(2025, 3, 9, 7, tzinfo=UTC),
    datetime(2025, 11, 2, 6, tzinfo=UTC),
]
near_dst = st.builds(
    lambda change, offset: change + offset,
    st.sampled_from(DST_CHANGES),
    st.timedeltas(min_value=timedelta(hours=-26), max_value=timedelta(hours=26)),
)
moments = st.one_of(moments, near_dst)
crons = st.sampled_from(
    ["0 2 * * *", "*/15 * * * *", "0 * * * *", "30 6 * * 1-5", "0 0 1 * *", "@weekly"]
)
zones = st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
slas = st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))


@settings(max_examples=150, deadline=None)
@given(moment=moments, cron=crons, zone=zones)
def test_last_slot_before_is_the_newest_fire_time_strictly_before(
    moment: datetime, cron: str, zone: str | None
) -> None:
    trigger = cron_trigger(cron, zone)
    assert trigger is not None
    slot = last_slot_before(trigger, moment)
    assert slot is not None and slot < moment
    following = next_slot_after(trigger, slot)
    assert following is not None and following >= moment


@settings(max_examples=150, deadline=None)
@given(
    now=moments,
    cron=crons,
    zone=zones,
    sla=slas,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3)),
    older=st.lists(
        st.tuples(
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
            st.sampled_from(list(RunState)),
        ),
        max_size=6,
    ),
)
def test_never_late_when_the_newest_run_succeeded_after_the_last_slot(
    now: datetime,
    cron: str,
    zone: str | None,
    sla: timedelta | None,
    delay: timedelta,
    older: list[tuple[timedelta, RunState]],
) -> None:
    trigger = cron_trigger(cron, zone)
    assert trigger is not None
    last_slot = last_slot_before(trigger, now)
    assert last_slot is not None
    started = min(last_slot + delay, now)
    newest = run(RunState.success, started, run_id="newest", ended=now)
    history = [
        run(state, started - back, run_id=f"old{i}") for i, (back, state) in enumerate(older)
    ]
    status = pipeline_status(
        nightly(schedule=cron, schedule_timezone=zone, sla=sla), [*history, newest], now=now
    )
    assert status.late is False
    assert status.expected_by is None or status.expected_by >= now


def _daily_slot_before(moment: datetime, hour: int, minute: int) -> datetime:
    """Oracle for a daily UTC cron, by plain date arithmetic."""
    slot = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return slot if slot < moment else slot - timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    now=moments,
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    sla=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    runs=st.lists(
        st.tuples(
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)),
            st.sampled_from(list(RunState)),
        ),
        max_size=8,
    ),
)
def test_late_exactly_when_slot_plus_sla_has_passed_without_a_success_since_the_slot(
    now: datetime,
    hour: int,
    minute: int,
    sla: timedelta,
    runs: list[tuple[timedelta, RunState]],
) -> None:
    pipeline = nightly(schedule=f"{minute} {hour} * * *", sla=sla)
    history = [run(state, now - ago, run_id=f"r{i}") for i, (ago, state) in enumerate(runs)]
    slot = _daily_slot_before(now - sla, hour, minute)  # newest slot with slot + sla < now
    succeeded_since = any(
        r.state is RunState.success and r.started_at is not None and r.started_at >= slot
        for r in history
    )
    status = pipeline_status(pipeline, history, now=now)
    assert status.late is (not succeeded_since)
    if status.late:
        assert status.expected_by == slot + sla < now


def test_numeric_day_of_week_means_what_standard_cron_means():
    from datetime import UTC, datetime

    from integrations.pipeline_status import cron_trigger, next_slot_after, standard_day_of_week

    # 2026-11-16 is a Monday. "3" is Wednesday in cron (APScheduler alone would say Thursday).
    trigger = cron_trigger("0 8 * * 3")
    assert next_slot_after(trigger, datetime(2026, 11, 16, tzinfo=UTC)) == datetime(
        2026, 11, 18, 8, tzinfo=UTC
    )
    sunday = cron_trigger("0 2 * * 0")
    assert next_slot_after(sunday, datetime(2026, 11, 16, tzinfo=UTC)).weekday() == 6
    assert cron_trigger("0 2 * * 7") is not None
    assert standard_day_of_week("1-5") == "mon-fri"
    assert standard_day_of_week("*/2") == "*/2"
    assert standard_day_of_week("0,6") == "sun,sat"
    assert standard_day_of_week("MON-FRI") == "MON-FRI"
