"""Run history of the demo pipelines: 90 days of scheduled runs with noise, plus the scripted
situations (failing since yesterday, a late pipeline, one running now).

Every run is drawn from a random generator seeded by (seed, pipeline, slot), so a run looks
the same whatever "now" is; only which slots exist yet depends on it.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from urllib.parse import quote

from integrations.demo.catalog import (
    BASE_URL,
    FAILING,
    GPU_JUMP_DAYS,
    LATE,
    RUNNING,
    PipelineSpec,
)
from integrations.models import Pipeline, PipelineRun, RunState

_GENERIC_ERRORS = (
    "TimeoutError: task exceeded its 45 minute execution timeout",
    "botocore.exceptions.ClientError: An error occurred (SlowDown) when calling the PutObject "
    "operation: Please reduce your request rate.",
    "psycopg.OperationalError: connection to server was lost",
    "Great Expectations suite failed: 2 of 41 expectations unmet (row count below threshold)",
)


def seeded(seed: int, *parts: object) -> random.Random:
    """A generator that depends only on its arguments (str hashes vary per process)."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pipeline(spec: PipelineSpec) -> Pipeline:
    return Pipeline(
        name=spec.name,
        source="demo",
        schedule=spec.schedule,
        url=f"{BASE_URL}/airflow/dags/{spec.name}",
        tags=(spec.team, spec.kind),
        description=spec.description or None,
        sla=spec.sla,
    )


def slots(spec: PipelineSpec, start: datetime, end: datetime) -> list[datetime]:
    """Scheduled instants in [start, end), oldest first."""
    out: list[datetime] = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        if spec.cadence == "hourly":
            out += [day.replace(hour=h, minute=spec.minute) for h in range(24)]
        elif spec.cadence == "daily" or day.weekday() == spec.weekday:
            out.append(day.replace(hour=spec.hour, minute=spec.minute))
        day += timedelta(days=1)
    return [s for s in out if start <= s < end]


def history(spec: PipelineSpec, *, seed: int, start: datetime, now: datetime) -> list[PipelineRun]:
    """Every run scheduled in [start, now], newest first, scripted situations applied."""
    base = seeded(seed, "runs", spec.name).getrandbits(48)
    jump = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=GPU_JUMP_DAYS - 1
    )
    runs = []
    for slot in slots(spec, start, now + timedelta(microseconds=1)):
        rng = random.Random(base + int(slot.timestamp()))
        started = slot + timedelta(seconds=rng.uniform(5, 90))
        minutes = spec.minutes * rng.lognormvariate(0, 0.15)
        if slot.weekday() >= 5 and spec.kind == "ingestion":
            minutes *= 0.85  # less data at weekends
        if spec.name == "recs_training" and slot >= jump:
            minutes *= 2.4  # the bigger model behind the GPU spend jump
        ended = started + timedelta(minutes=minutes)
        state, task, error = RunState.success, None, None
        # Past incidents only: what fails *now* is scripted (FAILING), so the story stays clear.
        if rng.random() < 0.015 and slot < now - timedelta(days=2):
            state, task, error = (
                RunState.failed,
                rng.choice(spec.tasks),
                rng.choice(_GENERIC_ERRORS),
            )
            ended = started + timedelta(minutes=minutes * rng.uniform(0.2, 0.9))
        runs.append(_run(spec, slot, state, started, ended, task, error, now))
    runs.reverse()
    return _script(spec, runs, now)


def _run(
    spec: PipelineSpec,
    slot: datetime,
    state: RunState,
    started: datetime | None,
    ended: datetime | None,
    task: str | None,
    error: str | None,
    now: datetime,
) -> PipelineRun:
    if started is None or started > now:
        state, started, ended, task, error = RunState.queued, None, None, None, None
    elif ended is None or ended > now:
        state, ended, task, error = RunState.running, None, None, None
    run_id = f"scheduled__{slot.isoformat()}"
    url = f"{BASE_URL}/airflow/dags/{spec.name}/runs/{quote(run_id, safe='')}"
    return PipelineRun(
        pipeline=spec.name,
        run_id=run_id,
        state=state,
        started_at=started,
        ended_at=ended,
        scheduled_for=slot,
        failed_task=task,
        error=error,
        log_url=f"{url}/tasks/{task}/logs" if task else None,
        url=url,
    )


def _script(spec: PipelineSpec, runs: list[PipelineRun], now: datetime) -> list[PipelineRun]:
    if spec.name in FAILING:
        task, error, count = FAILING[spec.name]
        since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        done = [r for r in runs if r.state in (RunState.success, RunState.failed)]
        chosen = (
            done[:count]
            if count
            else [r for r in done if r.scheduled_for and r.scheduled_for >= since]
        )
        ids = {r.run_id for r in chosen}
        runs = [
            r.model_copy(
                update={
                    "state": RunState.failed,
                    "failed_task": task,
                    "error": error,
                    "log_url": f"{r.url}/tasks/{task}/logs",
                }
            )
            if r.run_id in ids
            else r
            for r in runs
        ]
    if spec.name == LATE:
        due = [
            r
            for r in runs
            if r.scheduled_for and r.scheduled_for + (spec.sla or timedelta()) <= now
        ]
        if due:
            cutoff = due[0].scheduled_for
            runs = [
                _run(spec, r.scheduled_for, RunState.queued, None, None, None, None, now)
                if r.scheduled_for and cutoff and r.scheduled_for >= cutoff
                else r
                for r in runs
            ]
    if spec.name == RUNNING and runs:
        latest = runs[0]
        started = min(latest.started_at or now, now)
        runs[0] = latest.model_copy(
            update={
                "state": RunState.running,
                "started_at": started,
                "ended_at": None,
                "failed_task": None,
                "error": None,
                "log_url": None,
            }
        )
    return runs
