"""When a digest is due: its cron trigger in its own zone, and the slot (scheduled time) a run at
a given moment belongs to, so every replica names the same slot without APScheduler's help.

APScheduler 3 gives a job no scheduled fire time and its triggers only look forward; the latest
slot at or before `now` is found by looking forward from windows reaching ever further back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest

# A run this close after its slot is on time (posted as of the slot, no "late" note); later,
# the post says it is late. Five minutes covers what is ordinary and not news to a reader: a
# scheduler woken late by a busy loop, a rolling restart, `switchboard demo` starting just after
# a slot of its two-minute digest. An outage long enough to matter still says so.
ON_TIME = timedelta(minutes=5)
_FIRST_WINDOW = timedelta(minutes=2)
_LONGEST_LOOK_BACK = timedelta(days=800)  # "0 9 29 FEB MON" still fires within this


def digest_zone(digest: Digest, config: OpsConfig) -> str:
    """The digest's IANA zone: its own, else the workspace's (as ops.yml documents)."""
    return digest.timezone or config.workspace.timezone


def digest_trigger(digest: Digest, config: OpsConfig) -> CronTrigger:
    """The cron trigger firing `digest` in its zone (wall-clock times, across DST changes)."""
    return CronTrigger.from_crontab(digest.schedule, timezone=digest_zone(digest, config))


def latest_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time `trigger` fires at or before `now` (UTC), or None if it never did."""
    window = _FIRST_WINDOW
    while window <= _LONGEST_LOOK_BACK:
        found = _last_in(trigger, now - window, now)
        if found is not None:
            return found
        window *= 4
    return None


def _last_in(trigger: CronTrigger, start: datetime, end: datetime) -> datetime | None:
    last = None
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        last = fire.astimezone(UTC)  # stepping on from UTC times keeps a DST fold apart
        fire = trigger.get_next_fire_time(last, last + timedelta(seconds=1))
    return last


def slot_name(slot: datetime, zone: str) -> str:
    """The slot as the claim's key: its wall-clock time in the digest's zone.

    When clocks go back, cron times in the repeated hour fire twice (APScheduler fires 02:30
    CEST and 02:30 CET); both name the same slot, so the digest is posted once.
    """
    local = slot.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return local.isoformat(timespec="minutes")


class SlotDecision(StrEnum):
    on_time = "on_time"
    late = "late"  # missed while nothing ran; within the grace period: posted, saying so
    too_late = "too_late"  # past the grace period: skipped with a log line and a metric


def decide(slot: datetime, now: datetime, grace: timedelta) -> SlotDecision:
    behind = now - slot
    if behind <= ON_TIME:
        return SlotDecision.on_time
    if behind <= grace:
        return SlotDecision.late
    return SlotDecision.too_late
