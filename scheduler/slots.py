"""Once-per-slot execution: replicas agree on a slot name and the database lets one claim it.

APScheduler 3 does not hand the scheduled fire time to the job, so the slot is derived from
the clock: jobs are scheduled on boundaries aligned to the epoch (``aligned_start``), and the
time a job starts is rounded to the nearest boundary. Replicas whose clocks differ by less
than half an interval therefore name the same slot, and the primary key of ``job_slot``
makes exactly one claim win.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.db import upsert_dialect
from bot.store.models import JobSlot, table_of

log = structlog.get_logger(__name__)

JOB_RUNS = Counter(
    "switchboard_job_runs_total",
    "Scheduled job invocations by outcome (ran, skipped: another replica had the slot, failed)",
    ["job", "outcome"],
)
SLOT = table_of(JobSlot)


def _seconds(every: timedelta | float) -> float:
    seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
    if seconds <= 0:
        raise ValueError("a slot interval must be positive")
    return seconds


def slot_key(every: timedelta | float, now: float | None = None) -> str:
    """The slot containing ``now``: the nearest multiple of ``every`` since the epoch, in UTC."""
    seconds = _seconds(every)
    now = time.time() if now is None else now
    boundary = round(now / seconds) * seconds
    return datetime.fromtimestamp(boundary, UTC).isoformat(timespec="milliseconds")


def aligned_start(every: timedelta | float, now: float | None = None) -> datetime:
    """The latest epoch-aligned boundary, as a trigger's start_date, so replicas fire together."""
    seconds = _seconds(every)
    now = time.time() if now is None else now
    return datetime.fromtimestamp((now // seconds) * seconds, UTC)


def claim_slot(
    engine: Engine, job_id: str, slot: str, replica_id: str, *, now: float | None = None
) -> bool:
    """Record that ``replica_id`` runs ``job_id`` for ``slot``; False if someone already did.

    INSERT … ON CONFLICT DO NOTHING: on PostgreSQL a concurrent insert of the same key waits
    for the first transaction and then inserts nothing, so exactly one claimer sees a row.
    """
    values = {
        "job_id": job_id,
        "slot": slot,
        "claimed_by": replica_id,
        "claimed_at": time.time() if now is None else now,
    }
    if engine.dialect.name in ("postgresql", "sqlite"):
        dialect_insert = upsert_dialect(engine.dialect.name).insert
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT through SQLAlchemy.
        stmt = (
            dialect_insert(SLOT)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(SLOT.c.claimed_by)
        )
        with engine.begin() as conn:
            return conn.execute(stmt).first() is not None
    try:  # any other database: the primary key violation is the answer
        with engine.begin() as conn:
            conn.execute(insert(SLOT).values(**values))
        return True
    except IntegrityError:
        return False


T = TypeVar("T")


async def run_once_per_slot(
    engine: Engine,
    job_id: str,
    slot: str,
    replica_id: str,
    coro_fn: Callable[[], Awaitable[T]],
) -> bool:
    """Run ``coro_fn`` if this replica wins ``(job_id, slot)``; returns whether it ran.

    A failing job keeps its claim (the slot is not retried by another replica): jobs that
    must not be lost are themselves durable, as the outbox is.
    """
    won = await asyncio.to_thread(claim_slot, engine, job_id, slot, replica_id)
    if not won:
        JOB_RUNS.labels(job=job_id.split(":", 1)[0], outcome="skipped").inc()
        return False
    try:
        await coro_fn()
    except Exception:
        JOB_RUNS.labels(job=job_id.split(":", 1)[0], outcome="failed").inc()
        log.exception("job.failed", job=job_id, slot=slot, replica=replica_id)
        return True
    JOB_RUNS.labels(job=job_id.split(":", 1)[0], outcome="ran").inc()
    return True


class SlotContext(Protocol):
    """What a once-per-slot job needs from its context."""

    engine: Engine
    replica_id: str

    def ran(self, job_id: str, slot: str) -> None: ...


Every = timedelta | float | Callable[[Any], timedelta | float]


def once_per_slot(
    job_id: str, every: Every
) -> Callable[[Callable[[Any], Awaitable[Any]]], Callable[[Any], Awaitable[bool]]]:
    """Decorate ``async def job(ctx)`` so it runs once per slot across replicas.

    ``every`` is the job's interval, or a function of ``ctx`` giving it (for intervals
    read from settings). ``job_id`` may contain ``{replica}`` for jobs each replica runs
    for itself (heartbeat): the slot then stops one replica running it twice in a slot.
    """

    def decorate(fn: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[bool]]:
        @functools.wraps(fn)
        async def wrapper(ctx: SlotContext) -> bool:
            resolved = job_id.format(replica=ctx.replica_id)
            slot = slot_key(every(ctx) if callable(every) else every)
            ran = await run_once_per_slot(
                ctx.engine, resolved, slot, ctx.replica_id, lambda: fn(ctx)
            )
            if ran:
                ctx.ran(resolved, slot)
            return ran

        return wrapper

    return decorate
