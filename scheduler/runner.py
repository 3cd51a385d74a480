"""Building, starting and stopping the scheduler (inside the app's event loop or alone)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import structlog
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender
from bot.settings import Settings
from bot.store.replicas import mark_stopped
from scheduler.approval_jobs import register_approval_jobs
from scheduler.detector_jobs import register_detector_jobs
from scheduler.digest_jobs import register_digest_jobs
from scheduler.incident_jobs import register_incident_jobs
from scheduler.jobs import JobContext, register_jobs

if TYPE_CHECKING:
    from bot.services import Services

log = structlog.get_logger(__name__)

# The sender loop wakes on notify, finished sends and its own pacing/backoff timers; the
# outbox_drain sweep wakes it across replicas. This poll is only a backstop.
SENDER_POLL_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 15.0
# The jobs of the domain services: each registers its jobs when its service is configured.
SERVICE_JOBS: tuple[Callable[[AsyncIOScheduler, Services], object], ...] = (
    register_approval_jobs,
    register_detector_jobs,
    register_digest_jobs,
    register_incident_jobs,
)


def default_replica_id() -> str:
    """host-pid: unique per process, readable in job_slot.claimed_by and heartbeat rows."""
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


class Scheduler:
    """APScheduler plus the outbox sender loop, started and stopped together."""

    def __init__(self, aps: AsyncIOScheduler, ctx: JobContext, executor: AsyncIOExecutor) -> None:
        self.aps = aps
        self.ctx = ctx
        self._executor = executor
        self._stop = asyncio.Event()
        self._sender_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return bool(self.aps.running)

    def start(self) -> None:
        """Start inside a running event loop (e.g. FastAPI's lifespan)."""
        self._stop = asyncio.Event()
        self.aps.start()
        sender = self.ctx.outbox_sender
        if sender is not None:
            self._sender_task = asyncio.create_task(
                sender.run(self._stop, poll_interval=SENDER_POLL_SECONDS), name="outbox-sender"
            )
            self.ctx.sender_running = True
        log.info("scheduler.started", replica=self.ctx.replica_id, jobs=self.job_ids())

    async def shutdown(self, *, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop taking new runs, let running jobs and sends finish (bounded), then stop.

        APScheduler's asyncio executor cancels running jobs on shutdown; a cancelled send
        would leave its lease to expire and the post to be repeated, so we wait first.
        """
        if not self.aps.running:
            return
        self.aps.pause()
        self._stop.set()
        running: list[asyncio.Future[Any]] = [t for t in self._job_tasks() if not t.done()]
        if self._sender_task is not None:
            running.append(self._sender_task)
        if running:
            await asyncio.wait(running, timeout=grace)
        if self._sender_task is not None and not self._sender_task.done():
            self._sender_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._sender_task
        self.ctx.sender_running = False
        self.aps.shutdown(wait=False)
        await asyncio.sleep(0)  # let cancelled job tasks unwind inside the loop
        try:  # anything still leased (a send cut off by the grace) is free for other replicas
            await asyncio.to_thread(
                mark_stopped, self.ctx.engine, replica_id=self.ctx.replica_id, now=time.time()
            )
        except Exception:  # the database went first: the missed beats will say it instead
            log.warning("scheduler.stop_not_recorded", replica=self.ctx.replica_id)
        log.info("scheduler.stopped", replica=self.ctx.replica_id)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self.aps.get_jobs())

    def _job_tasks(self) -> list[asyncio.Future[object]]:
        # APScheduler 3.11 keeps the running job tasks here and offers no public accessor.
        return list(getattr(self._executor, "_pending_futures", ()))


def build_scheduler(
    settings: Settings,
    engine: Engine,
    *,
    replica_id: str,
    outbox_sender: OutboxSender | None = None,
    outbox: Outbox | None = None,
    heartbeat_seconds: float | None = None,
    services: Services | None = None,
) -> Scheduler:
    """A scheduler with every job registered: scheduler.jobs.register_jobs, and with `services`
    the SERVICE_JOBS of the services it has.

    With ``outbox`` given, its notify() wakes ``outbox_sender`` at once after an enqueue.
    """
    executor = AsyncIOExecutor()
    aps = AsyncIOScheduler(executors={"default": executor}, timezone="UTC")
    ctx = JobContext(
        engine=engine,
        replica_id=replica_id,
        outbox_interval=settings.switchboard_outbox_interval,
        heartbeat_seconds=heartbeat_seconds or settings.switchboard_heartbeat_seconds,
        outbox_sender=outbox_sender,
    )
    register_jobs(aps, ctx)
    if services is not None:
        for register in SERVICE_JOBS:
            register(aps, services)
    if outbox is not None and outbox_sender is not None:
        outbox.subscribe(outbox_sender.wake)
    return Scheduler(aps, ctx, executor)
