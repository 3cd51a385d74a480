"""Whether a pipeline is late against its cron schedule and SLA, computed from its recent runs.

Pure (no I/O; `now` is an argument), shared by the Airflow, Prefect and Dagster adapters'
callers and by the demo source, so "late" means the same thing whichever tool runs a pipeline.

Rules:
- A *slot* is a fire time of the pipeline's cron schedule (presets such as `@daily` too), read
  in `Pipeline.schedule_timezone` (UTC when unset).
- A slot's *deadline* is slot + SLA. Without an SLA the deadline is the next slot: the run for
  one slot must have succeeded before the next one is due.
- A slot is *covered* by a successful run that was scheduled for it or later, or started at or
  after it. Queued and running runs cover nothing: the SLA is about results being ready.
- The pipeline is late exactly when the newest slot whose deadline has passed (deadline < now)
  is not covered. Paused or unscheduled pipelines (no cron, asset/event triggers, `@once`) are
  never late.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger

from integrations.models import Pipeline, PipelineRun, PipelineStatus, RunState

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# Growing look-back windows: the first one that holds a fire time bounds the walk forward,
# so a minutely cron walks at most ~120 steps and a yearly one a handful.
_LOOKBACKS = (
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=35),
    timedelta(days=400),
    timedelta(days=8 * 366),
)
_TICK = timedelta(microseconds=1)
_MAX_STEPS = 10_000  # far above the ~120 steps the look-back windows allow
_OLDEST = datetime.min.replace(tzinfo=UTC)


_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DOW_NUMBER = re.compile(r"(?<![/\d])([0-7])(?!\d)")


def standard_day_of_week(field: str) -> str:
    """A standard cron day-of-week field with names for numbers.

    Orchestrators write cron as Vixie cron does (0 or 7 = Sunday, 1 = Monday), but APScheduler 3
    numbers days from Monday = 0, so `0 8 * * 3` would fire on Thursday instead of Wednesday.
    Names mean the same to both. Numbers after `/` are steps, not days, and stay as they are.
    """
    return _DOW_NUMBER.sub(lambda m: _DOW_NAMES[int(m.group(1))], field)


@lru_cache(maxsize=512)
def cron_trigger(schedule: str | None, timezone: str | None = None) -> CronTrigger | None:
    """The trigger for a cron expression or preset; None when the schedule is not a cron."""
    if not schedule:
        return None
    expr = CRON_PRESETS.get(schedule.strip().lower(), schedule.strip())
    fields = expr.split()
    if len(fields) != 5:
        return None
    expr = " ".join([*fields[:4], standard_day_of_week(fields[4])])
    try:
        return CronTrigger.from_crontab(expr, timezone=timezone or "UTC")
    except (ValueError, KeyError, LookupError):
        return None  # not a cron we can read (e.g. a timetable's summary text): never late


def _aware(moment: datetime) -> datetime:
    """In UTC. Arithmetic on local times is wall-clock arithmetic: across a DST change it
    lands an hour off (or loops forever, as 02:30 CEST + 1µs reads as a time before 02:00 CET)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fire_after(trigger: CronTrigger, start: datetime) -> datetime | None:
    fire = trigger.get_next_fire_time(None, start)
    return fire.astimezone(UTC) if fire is not None else None


def next_slot_after(trigger: CronTrigger, moment: datetime) -> datetime | None:
    """The first fire time strictly after `moment`, in UTC."""
    return _fire_after(trigger, _aware(moment) + _TICK)


def last_slot_before(trigger: CronTrigger, moment: datetime) -> datetime | None:
    """The latest fire time strictly before `moment`, in UTC."""
    moment = _aware(moment)
    for back in _LOOKBACKS:
        fire = _fire_after(trigger, moment - back)
        if fire is None:
            return None
        if fire >= moment:
            continue
        for _ in range(_MAX_STEPS):
            following = next_slot_after(trigger, fire)
            if following is None or following >= moment:
                return fire
            if following <= fire:  # a trigger that does not move forward: stop, don't spin
                return None
            fire = following
        return None
    return None


def _run_time(run: PipelineRun) -> datetime:
    moment = run.started_at or run.scheduled_for or run.ended_at
    return _aware(moment) if moment else _OLDEST


def _covers_from(run: PipelineRun) -> datetime | None:
    """The latest slot this successful run counts for."""
    candidates = [_aware(t) for t in (run.scheduled_for, run.started_at) if t is not None]
    if not candidates and run.ended_at is not None:
        candidates = [_aware(run.ended_at)]
    return max(candidates) if candidates else None


def _finished_at(run: PipelineRun) -> datetime | None:
    moment = run.ended_at or run.started_at or run.scheduled_for
    return _aware(moment) if moment else None


def newest_first(runs: Iterable[PipelineRun]) -> list[PipelineRun]:
    return sorted(runs, key=_run_time, reverse=True)


def pipeline_status(
    pipeline: Pipeline,
    runs: Iterable[PipelineRun],
    *,
    now: datetime,
    default_sla: timedelta | None = None,
) -> PipelineStatus:
    """The pipeline with its runs (newest first), last success and lateness at `now`.

    `runs` may contain other pipelines' runs; only those named like `pipeline` are used.
    `default_sla` applies when the pipeline has none of its own.
    """
    now = _aware(now)
    mine = newest_first(r for r in runs if r.pipeline == pipeline.name)
    successes = [r for r in mine if r.state is RunState.success]
    finished = [t for t in map(_finished_at, successes) if t is not None]
    last_success_at = max(finished, default=None)
    base = PipelineStatus(pipeline=pipeline, runs=tuple(mine), last_success_at=last_success_at)

    trigger = cron_trigger(pipeline.schedule, pipeline.schedule_timezone)
    if trigger is None or pipeline.paused:
        return base
    sla = pipeline.sla if pipeline.sla is not None else default_sla

    def deadline(slot: datetime) -> datetime | None:
        return slot + sla if sla is not None else next_slot_after(trigger, slot)

    covered = [t for t in map(_covers_from, successes) if t is not None]
    covered_until = max(covered, default=None)
    overdue = _newest_overdue_slot(trigger, sla, now)
    if overdue is not None and (covered_until is None or overdue > covered_until):
        return base.model_copy(update={"late": True, "expected_by": deadline(overdue)})
    # Not late: the next success is due by the deadline of the first slot not yet covered.
    upcoming = next_slot_after(trigger, covered_until if covered_until is not None else now)
    expected_by = deadline(upcoming) if upcoming is not None else None
    return base.model_copy(update={"expected_by": expected_by})


def _newest_overdue_slot(
    trigger: CronTrigger, sla: timedelta | None, now: datetime
) -> datetime | None:
    """The newest slot whose deadline is strictly before `now`."""
    if sla is not None:
        return last_slot_before(trigger, now - sla)
    newest = last_slot_before(trigger, now)  # its deadline (the next slot) is still ahead
    return last_slot_before(trigger, newest) if newest is not None else None
