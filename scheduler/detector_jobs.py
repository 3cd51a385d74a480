"""The incident detectors and the dead-man's switch as scheduled jobs.

Each detector is one job (`detector:<name>`) on an epoch-aligned interval, and each run claims
its slot in the database first, so with any number of replicas every slot runs once. The
dead-man's switch (`deadman`) checks every minute. The jobs need an alert sink: they register
only when the services have one (`services.incidents`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.incidents.alerts import AlertSink
from bot.incidents.detectors import Detector, DetectorRunner, build_detectors, check_deadman
from bot.incidents.detectors.runner import DEADMAN
from bot.ops_config import OpsConfig
from scheduler.slots import aligned_start, run_once_per_slot, slot_key

if TYPE_CHECKING:
    from bot.services import Services

DEADMAN_EVERY = timedelta(minutes=1)


@dataclass
class DetectorJobs:
    """The detectors' shared context: what runs them, who we are, and what this replica ran."""

    runner: DetectorRunner
    config: OpsConfig
    detectors: Sequence[Detector]
    replica_id: str
    deadman_every: timedelta = DEADMAN_EVERY
    runs: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=1000))

    async def detect(self, detector: Detector, *, now: float | None = None) -> bool:
        """Run `detector` if this replica wins its current slot; whether it ran."""
        job_id = f"detector:{detector.name}"
        slot = slot_key(detector.every, now)
        ran = await run_once_per_slot(
            self.runner.engine, job_id, slot, self.replica_id, lambda: self.runner.run(detector)
        )
        if ran:
            self.runs.append((job_id, slot))
        return ran

    async def deadman(self, *, now: float | None = None) -> bool:
        slot = slot_key(self.deadman_every, now)
        ran = await run_once_per_slot(
            self.runner.engine,
            DEADMAN,
            slot,
            self.replica_id,
            lambda: check_deadman(self.runner, self.config, self.detectors),
        )
        if ran:
            self.runs.append((DEADMAN, slot))
        return ran


def add_detector_jobs(
    aps: AsyncIOScheduler, jobs: DetectorJobs, *, start_now: bool = True
) -> list[str]:
    """Add one job per detector and the dead-man's switch to `aps`; returns their ids."""
    common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    first = {"next_run_time": datetime.now(UTC)} if start_now else {}
    ids = []
    for detector in jobs.detectors:
        seconds = detector.every.total_seconds()
        job_id = f"detector:{detector.name}"
        aps.add_job(
            jobs.detect,
            IntervalTrigger(seconds=seconds, start_date=aligned_start(seconds)),
            args=[detector],
            id=job_id,
            misfire_grace_time=max(1, int(seconds)),
            **common,
            **first,
        )
        ids.append(job_id)
    seconds = jobs.deadman_every.total_seconds()
    aps.add_job(
        jobs.deadman,
        IntervalTrigger(seconds=seconds, start_date=aligned_start(seconds)),
        id=DEADMAN,
        misfire_grace_time=max(1, int(seconds)),
        **common,
    )
    return [*ids, DEADMAN]


def detector_jobs(
    services: Services, sink: AlertSink, *, replica_id: str | None = None
) -> DetectorJobs | None:
    """The detector jobs of `services` feeding `sink`; None without an ops.yml."""
    config = services.ops_config
    if config is None or services.sources is None:
        return None
    if replica_id is None:
        from scheduler.runner import default_replica_id

        replica_id = default_replica_id()
    runner = DetectorRunner(
        engine=services.engine,
        sink=sink,
        deps=lambda now: services.answer_deps(now=now),
        clock=services.clock,
    )
    return DetectorJobs(
        runner=runner, config=config, detectors=build_detectors(config), replica_id=replica_id
    )


def register_detector_jobs(aps: AsyncIOScheduler, services: Services) -> None:
    """The detectors and the dead-man's switch, when the services have an incident sink."""
    sink: AlertSink | None = services.incidents
    if sink is None or not services.settings.switchboard_detectors:
        return
    jobs = detector_jobs(services, sink)
    if jobs is not None:
        add_detector_jobs(aps, jobs)
