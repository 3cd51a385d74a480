"""Digest jobs: one cron job per digest in its time zone, a catch-up run at start for slots missed
while nothing ran, and the check of channels Slack refused.

Every replica registers every job; the slot claim in the database lets one of them post each
slot (bot.digests.posting). APScheduler's misfire grace is the digest's grace period, so a run
delayed by a busy loop still happens and is judged late or on time by the slot it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.compose import compose_digest
from bot.digests.posting import Compose, DigestPoster, SlotResult
from bot.digests.problems import check_channels
from bot.digests.schedule import digest_trigger
from scheduler.slots import aligned_start

if TYPE_CHECKING:
    from bot.services import Services

log = structlog.get_logger(__name__)

CATCH_UP_JOB = "digests_catch_up"
CHANNELS_JOB = "digest_channels"
CHANNELS_EVERY = timedelta(minutes=1)
Clock = Callable[[], datetime]


def job_id(name: str) -> str:
    return f"digest:{name}"


async def digest_due(poster: DigestPoster, name: str, clock: Clock) -> SlotResult:
    """The cron job of one digest: its slot now (claimed once across replicas)."""
    return await poster.run_due(name, now=clock())


async def digests_catch_up(poster: DigestPoster, names: list[str], clock: Clock) -> None:
    """At start: each digest's latest slot, if no replica handled it (posted late within its
    grace period, else skipped with a log line and a metric)."""
    results = await poster.run_many(names, now=clock())
    handled = [f"{r.digest}:{r.outcome.value}" for r in results if r.outcome.value != "elsewhere"]
    log.info("digest.catch_up", digests=len(names), handled=[h for h in handled if "none" not in h])


async def digest_channels(poster: DigestPoster) -> list[str]:
    return await asyncio.to_thread(check_channels, poster.engine, poster.config)


def _replica() -> str:
    from scheduler.runner import default_replica_id

    return default_replica_id()


def register_digest_jobs(
    aps: AsyncIOScheduler,
    services: Services,
    *,
    replica_id: str | None = None,
    clock: Clock | None = None,
    compose: Compose | None = None,
) -> DigestPoster | None:
    """One job per enabled digest of ops.yml, the catch-up and the channel check; nothing when
    there is no ops.yml or nothing may be sent."""
    config = services.ops_config
    if config is None or services.outbox is None:
        return None
    poster = DigestPoster(
        services, replica_id=replica_id or _replica(), compose=compose or compose_digest
    )
    # The services' clock: the system's, or a pinned moment (tests, the demo company as of a
    # date), so a pinned process decides its slots the same way every run.
    now = clock or services.clock
    enabled = [d for d in config.digests if d.enabled]
    for digest in enabled:
        grace = max(int(digest.grace.total_seconds()), 1)
        aps.add_job(
            digest_due,
            digest_trigger(digest, config),
            args=[poster, digest.name, now],
            id=job_id(digest.name),
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            misfire_grace_time=grace,
        )
    if not enabled:
        return poster
    aps.add_job(
        digests_catch_up,
        args=[poster, [d.name for d in enabled], now],
        id=CATCH_UP_JOB,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
        misfire_grace_time=None,
    )
    seconds = CHANNELS_EVERY.total_seconds()
    aps.add_job(
        digest_channels,
        IntervalTrigger(seconds=seconds, start_date=aligned_start(seconds)),
        args=[poster],
        id=CHANNELS_JOB,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
        misfire_grace_time=int(seconds),
    )
    return poster
