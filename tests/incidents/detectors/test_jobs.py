"""Detector jobs: two replicas' schedulers run each detector slot once between them (the slot
claim), on SQLite and PostgreSQL; and the jobs register only where there is an incident sink."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertStatus
from bot.incidents.detectors import Detector, DetectorRunner, Findings
from bot.incidents.detectors.base import firing
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import upgrade
from bot.store.models import JobSlot
from integrations.hub import Sources
from scheduler.detector_jobs import (
    DetectorJobs,
    add_detector_jobs,
    detector_jobs,
    register_detector_jobs,
)
from tests.incidents.detectors.conftest import DEMO_NOW, RecordingSink, deps_for, example_config

EVERY = timedelta(seconds=0.4)


class Flapping:
    """Fires on odd runs, clears on even ones: every run changes something, so every run that
    really happened shows in the sink, and a slot run twice would show twice."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, deps: AnswerDeps) -> Findings:
        self.calls += 1
        if self.calls % 2:
            return Findings(firing=(firing("flap", "pipeline:x:failed", "x failed", now=deps.now),))
        return Findings()


def jobs_for(engine: Engine, sink: RecordingSink, replica: str, detector: Detector) -> DetectorJobs:
    config = example_config()
    runner = DetectorRunner(
        engine=engine, sink=sink, deps=lambda now: deps_for(Sources(), config, now)
    )
    return DetectorJobs(
        runner=runner,
        config=config,
        detectors=[detector],
        replica_id=replica,
        deadman_every=timedelta(seconds=0.5),
    )


async def test_two_replicas_racing_for_the_same_slot_run_the_detector_once(
    db_engine: Engine, sink: RecordingSink
):
    flap = Flapping()
    detector = Detector("flap", flap, timedelta(minutes=5))
    a, b = (jobs_for(db_engine, sink, r, detector) for r in ("replica-a", "replica-b"))
    now = 1_795_435_200.0
    ran = await asyncio.gather(a.detect(detector, now=now), b.detect(detector, now=now + 1))
    assert sorted(ran) == [False, True] and flap.calls == 1
    assert sink.keys() == ["pipeline:x:failed"]
    assert await a.detect(detector, now=now + 300) is True  # the next slot
    assert flap.calls == 2 and sink.keys("resolved") == ["pipeline:x:failed"]


async def test_two_schedulers_run_each_detector_slot_once(db_engine: Engine, sink: RecordingSink):
    flap = Flapping()
    detector = Detector("flap", flap, EVERY)
    jobs = [jobs_for(db_engine, sink, r, detector) for r in ("replica-a", "replica-b")]
    schedulers = []
    for job in jobs:
        aps = AsyncIOScheduler(timezone="UTC")
        assert add_detector_jobs(aps, job, start_now=False) == ["detector:flap", "deadman"]
        schedulers.append(aps)

    def slots() -> list[str]:
        return [slot for job in jobs for job_id, slot in job.runs if job_id == "detector:flap"]

    for aps in schedulers:
        aps.start()
    try:
        for _ in range(400):  # a guard against schedulers that never run, not a measurement
            if len(set(slots())) >= 8:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"too few detector slots ran: {[list(j.runs) for j in jobs]}")
    finally:
        for aps in schedulers:
            aps.shutdown(wait=False)
    for _ in range(100):  # a run that had started when they stopped finishes into the sink
        if len(sink.events) == flap.calls:
            break
        await asyncio.sleep(0.02)
    ran = slots()
    assert len(ran) == len(set(ran)), "a detector slot ran on both replicas"
    deadman = [slot for job in jobs for job_id, slot in job.runs if job_id == "deadman"]
    assert deadman and len(deadman) == len(set(deadman)), "a dead-man slot ran on both"
    with db_engine.connect() as conn:
        claims = conn.execute(
            select(JobSlot.slot, JobSlot.claimed_by).where(JobSlot.job_id == "detector:flap")
        ).all()
    assert {(s, j.replica_id) for j in jobs for i, s in j.runs if i == "detector:flap"} <= set(
        claims
    )
    # Every run changed the state, and the sink saw each change once, alternating.
    statuses = [e.status for e in sink.events if e.dedup_key == "pipeline:x:failed"]
    assert len(statuses) == flap.calls >= 8
    assert statuses == [
        AlertStatus.firing if n % 2 == 0 else AlertStatus.resolved for n in range(len(statuses))
    ]


@dataclass(frozen=True, kw_only=True)
class WithIncidents(Services):
    """Services as they are once the incident service is a member of them."""

    incidents: RecordingSink | None = None


def test_detector_jobs_register_only_when_the_services_have_an_incident_sink(
    tmp_path: Path, sink: RecordingSink
):
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        switchboard_detectors=True,
    )  # type: ignore[call-arg]
    services = build_services(settings, config_path=Path("ops.example.yml"), sends=False)
    aps = AsyncIOScheduler(timezone="UTC")
    register_detector_jobs(aps, services)
    assert aps.get_jobs() == []
    with_sink = WithIncidents(**{f: getattr(services, f) for f in services.__dataclass_fields__})
    object.__setattr__(with_sink, "incidents", sink)
    register_detector_jobs(aps, with_sink)  # type: ignore[arg-type]
    assert {j.id for j in aps.get_jobs()} == {
        "deadman",
        "detector:pipeline_failure",
        "detector:pipeline_sla",
        "detector:model_latency",
        "detector:model_error_rate",
        "detector:model_drift",
        "detector:budget_breach",
        "detector:spend_anomaly",
    }
    # SWITCHBOARD_DETECTORS=false: only webhooks make incidents.
    off = AsyncIOScheduler(timezone="UTC")
    quiet = replace(
        with_sink, settings=settings.model_copy(update={"switchboard_detectors": False})
    )
    register_detector_jobs(off, quiet)  # type: ignore[arg-type]
    assert off.get_jobs() == []


async def test_detectors_read_at_the_services_clock_so_the_demo_is_judged_at_its_pinned_now(
    tmp_path: Path, sink: RecordingSink
):
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}")  # type: ignore[call-arg]
    upgrade(settings.database_url)
    services = build_services(settings, config_path=Path("ops.example.yml"), now=DEMO_NOW)
    jobs = detector_jobs(services, sink, replica_id="solo")
    assert jobs is not None
    seen = []

    async def look(deps: AnswerDeps) -> Findings:
        seen.append(deps.now)
        return Findings()

    await jobs.runner.run(Detector("look", look, timedelta(minutes=1)))
    assert seen == [DEMO_NOW]
