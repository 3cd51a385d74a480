"""The scheduled jobs, and ``register_jobs``: the one place that gives them ids and triggers."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import and_, delete, exists, or_
from sqlalchemy.engine import Engine

from bot.outbox import OutboxSender
from bot.store.models import Heartbeat, JobSlot, OutboxMessage, OutboxStatus, table_of
from bot.store.replicas import write_heartbeat
from scheduler.slots import aligned_start, once_per_slot

log = structlog.get_logger(__name__)

KEEP = timedelta(days=7)
# Slots of jobs that run every few seconds are worthless once the slot has passed; keeping
# them a week would mean ~600k rows for the outbox sweep alone.
KEEP_FREQUENT = timedelta(days=1)
PRUNE_HOUR_UTC = 3


@dataclass
class JobContext:
    """What the jobs share: the database, who we are, and the outbox sender (if any)."""

    engine: Engine
    replica_id: str
    outbox_interval: float
    heartbeat_seconds: float
    started_at: float = field(default_factory=time.time)
    outbox_sender: OutboxSender | None = None
    sender_running: bool = False
    # Recent (job_id, slot) pairs this replica ran: for logs and tests, bounded.
    runs: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=1000))

    def ran(self, job_id: str, slot: str) -> None:
        self.runs.append((job_id, slot))


@once_per_slot("outbox_drain", every=lambda ctx: ctx.outbox_interval)
async def outbox_drain(ctx: JobContext) -> None:
    """The cross-replica sweep: once per tick one replica looks at the whole outbox.

    It catches messages queued by other processes (CLI, web-only replicas) and rows whose
    sender died (expired lease). Messages queued in this process do not wait for it:
    ``Outbox.notify`` wakes the local sender directly.
    """
    sender = ctx.outbox_sender
    if sender is None:
        return
    if ctx.sender_running:
        sender.wake()  # the running loop scans, sends and keeps its own pacing timers
    else:
        await sender.drain_once()


@once_per_slot("heartbeat:{replica}", every=lambda ctx: ctx.heartbeat_seconds)
async def heartbeat(ctx: JobContext) -> None:
    """Say this replica is alive: operators see who runs, and while it beats, its outbox
    leases stay its own; once it stops beating, other replicas take them over (bot.store.replicas).
    """
    await asyncio.to_thread(
        write_heartbeat,
        ctx.engine,
        replica_id=ctx.replica_id,
        now=time.time(),
        started_at=ctx.started_at,
        every=ctx.heartbeat_seconds,
    )


@dataclass(frozen=True)
class Pruned:
    slots: int
    messages: int
    replicas: int = 0  # heartbeat rows of replicas silent for longer than ``keep``


def prune_old_rows(
    engine: Engine, *, now: float, keep: timedelta = KEEP, keep_frequent: timedelta = KEEP_FREQUENT
) -> Pruned:
    """Delete slot claims, sent outbox messages and heartbeats older than ``keep``.

    Dead messages stay for inspection. A sent message still referenced by a newer message
    (an update or reply queued later) stays until that one is pruned too. A heartbeat that old
    belongs to a replica long gone (every process start is a new replica).
    """
    slot = table_of(JobSlot)
    msg = table_of(OutboxMessage)
    cutoff = now - keep.total_seconds()
    frequent_cutoff = now - keep_frequent.total_seconds()
    frequent = or_(
        slot.c.job_id.in_(("outbox_drain", "deadman")),
        slot.c.job_id.like("heartbeat:%"),
        slot.c.job_id.like("detector:%"),
    )
    child = msg.alias("child")
    child_kept = and_(
        child.c.parent_id == msg.c.id,
        ~and_(child.c.status == OutboxStatus.sent.value, child.c.sent_at < cutoff),
    )
    with engine.begin() as conn:
        slots = conn.execute(
            delete(slot).where(
                or_(slot.c.claimed_at < cutoff, and_(frequent, slot.c.claimed_at < frequent_cutoff))
            )
        ).rowcount
        messages = conn.execute(
            delete(msg).where(
                msg.c.status == OutboxStatus.sent.value,
                msg.c.sent_at < cutoff,
                ~exists().where(child_kept),
            )
        ).rowcount
        beat = table_of(Heartbeat)
        replicas = conn.execute(delete(beat).where(beat.c.beat_at < cutoff)).rowcount
    return Pruned(slots=slots, messages=messages, replicas=replicas)


@once_per_slot("prune", every=timedelta(days=1))
async def prune(ctx: JobContext) -> None:
    pruned = await asyncio.to_thread(prune_old_rows, ctx.engine, now=time.time())
    log.info("job.pruned", slots=pruned.slots, messages=pruned.messages, replicas=pruned.replicas)


def register_jobs(aps: AsyncIOScheduler, ctx: JobContext) -> None:
    """Every job of the process itself, with its explicit id and trigger (the jobs of the
    domain services register through scheduler.runner.SERVICE_JOBS).

    coalesce: a backlog of missed runs becomes one run. max_instances=1: a slow run is
    never overlapped by the next. misfire_grace_time: how late a run may still start.
    """
    common = {"args": [ctx], "coalesce": True, "max_instances": 1, "replace_existing": True}
    if ctx.outbox_sender is not None:
        aps.add_job(
            outbox_drain,
            IntervalTrigger(
                seconds=ctx.outbox_interval, start_date=aligned_start(ctx.outbox_interval)
            ),
            id="outbox_drain",
            misfire_grace_time=max(1, int(ctx.outbox_interval)),
            **common,
        )
    aps.add_job(
        heartbeat,
        IntervalTrigger(
            seconds=ctx.heartbeat_seconds, start_date=aligned_start(ctx.heartbeat_seconds)
        ),
        id="heartbeat",
        # A late beat still counts: skipping it would bring the replica closer to looking gone.
        misfire_grace_time=max(1, int(ctx.heartbeat_seconds)),
        next_run_time=datetime.now(UTC),  # beat at start, then on the aligned boundaries
        **common,
    )
    aps.add_job(
        prune,
        CronTrigger(hour=PRUNE_HOUR_UTC, minute=17, timezone=UTC),
        id="prune",
        misfire_grace_time=3600,
        **common,
    )
