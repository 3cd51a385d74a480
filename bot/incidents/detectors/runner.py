"""Running detectors: each run compares what holds now with what was announced, hands only the
changes to the sink, and records the run (a good run is what the dead-man's switch watches).

Two clocks: `clock` is "now" for the answers the detectors read (pinned for the demo company),
`wall` is real time for signs of life, which the webhook intake records in real time too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.engine import Engine

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertEvent, AlertSink, Severity, Subject, SubjectKind
from bot.incidents.detectors import models, pipelines, spend
from bot.incidents.detectors.base import Detector, DetectorFn, Findings, firing
from bot.incidents.detectors.state import (
    SignOfLife,
    announced,
    changes,
    detector_name,
    record_run,
    remember,
    signs_of_life,
    source_name,
)
from bot.ops_config import OpsConfig
from bot.ops_config.common import format_duration

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
DepsAt = Callable[[datetime], AnswerDeps | None]
DEADMAN = "deadman"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def build_detectors(config: OpsConfig) -> list[Detector]:
    """The detectors ops.yml enables, each running every `incidents.detectors.every`."""
    cfg = config.incidents.detectors
    every = cfg.every
    enabled: list[tuple[bool, str, DetectorFn]] = [
        (cfg.pipeline_failure, pipelines.FAILURE, pipelines.pipeline_failures),
        (cfg.pipeline_sla.enabled, pipelines.SLA, pipelines.pipeline_sla_misses),
        (cfg.model_latency.enabled, models.LATENCY.detector, models.over_threshold(models.LATENCY)),
        (
            cfg.model_error_rate.enabled,
            models.ERROR_RATE.detector,
            models.over_threshold(models.ERROR_RATE),
        ),
        (cfg.model_drift.enabled, models.DRIFT.detector, models.over_threshold(models.DRIFT)),
        (cfg.budget_breach, spend.BUDGET, spend.budget_breaches),
        (cfg.spend_anomaly.enabled, spend.ANOMALY, spend.spend_anomalies),
    ]
    return [Detector(name, fn, every) for on, name, fn in enabled if on]


def _problem_text(found: Findings) -> str | None:
    if found.complete:
        return None
    return "; ".join(f"{p.source}: {p.reason}" for p in found.problems)[:2000]


@dataclass
class DetectorRunner:
    engine: Engine
    sink: AlertSink
    deps: DepsAt  # the answers' dependencies at a moment (Services.answer_deps)
    clock: Clock = wall_clock
    wall: Clock = wall_clock

    async def run(self, detector: Detector) -> list[AlertEvent]:
        """One run of `detector`; returns the events handed to the sink."""
        deps = self.deps(self.clock())
        if deps is None:
            return []
        name = detector_name(detector.name)
        try:
            found = await detector.run(deps)
        except Exception as exc:
            await asyncio.to_thread(
                record_run,
                self.engine,
                name,
                at=self.wall().timestamp(),
                problem=f"crashed: {type(exc).__name__}",
            )
            raise
        return await self.announce(detector.name, detector.source, found, now=deps.now, life=name)

    async def announce(
        self, detector: str, source: str, found: Findings, *, now: datetime, life: str | None
    ) -> list[AlertEvent]:
        """Send what changed since the last run, then remember it (after the sink took it: a
        sink that fails leaves the change to be sent again next run)."""
        before = await asyncio.to_thread(announced, self.engine, detector)
        events = changes(source, before, found.firing, complete=found.complete, now=now)
        if events:
            await self.sink.ingest(events)
            await asyncio.to_thread(
                remember, self.engine, detector, events, now=self.wall().timestamp()
            )
            log.info(
                "detector.changed",
                detector=detector,
                events=[f"{e.status.value}:{e.dedup_key}" for e in events],
            )
        if life is not None:
            await asyncio.to_thread(
                record_run,
                self.engine,
                life,
                at=self.wall().timestamp(),
                problem=_problem_text(found),
            )
        return events


# -- the dead-man's switch ----------------------------------------------------------------------
@dataclass(frozen=True)
class Watch:
    name: str  # detector:<name> or source:<source>, as stored
    label: str  # what it is called in the alert
    kind: str  # "detector" or "source"
    interval: timedelta
    grace: timedelta
    alert: str | None = None  # for a source: the alert that counts (Watchdog)


def watches(config: OpsConfig, detectors: Sequence[Detector]) -> list[Watch]:
    """Every heartbeat source of ops.yml and every enabled detector."""
    grace = config.incidents.detectors.deadman_grace
    found = [
        Watch(
            name=source_name(beat.source),
            label=beat.source,
            kind="source",
            interval=beat.interval,
            grace=beat.grace or grace,
            alert=beat.alert,
        )
        for beat in config.incidents.heartbeats
    ]
    found += [
        Watch(
            name=detector_name(d.name),
            label=d.name,
            kind="detector",
            interval=d.every,
            grace=grace,
        )
        for d in detectors
    ]
    return found


def deadman_key(watch: Watch) -> str:
    return f"deadman:{watch.kind}:{watch.label}"


def _at(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def silent(watch: Watch, life: SignOfLife | None, now: datetime) -> AlertEvent | None:
    """The firing alert for a watch silent past its interval plus grace; None while alive."""
    seen = life.last_good_at if life else None
    since = seen if seen is not None else (life.watched_since if life else None)
    if since is None:
        return None
    if now.timestamp() - since <= (watch.interval + watch.grace).total_seconds():
        return None
    expected = (
        f"expected every {format_duration(watch.interval)}, {format_duration(watch.grace)} grace"
    )
    if watch.kind == "source":
        what = f"{watch.alert} alert" if watch.alert else "event"
        title = f"Alerts from {watch.label} have stopped"
        if seen is not None:
            summary = f"No {what} from {watch.label} since {_at(seen)} ({expected})."
        else:
            summary = (
                f"No {what} from {watch.label} since watching began at {_at(since)} ({expected})."
            )
        summary += " Its alerts may not be reaching Switchboard: check the sender and its route."
        severity = Severity.critical
    else:
        title = f"Detector {watch.label} has stopped"
        summary = (
            f"No good run since {_at(seen)}" if seen is not None else "No good run yet"
        ) + f" ({expected})."
        if life is not None and life.last_problem:
            summary += f" Last problem: {life.last_problem}"
        severity = Severity.error
    event = firing(
        DEADMAN,
        deadman_key(watch),
        title,
        now=now,
        summary=summary,
        severity=severity,
        subject=Subject(SubjectKind.source, watch.label),
        labels={"source": watch.label, "alertname": watch.alert},
        starts_at=datetime.fromtimestamp(since, UTC) + watch.interval,
    )
    return replace(event, source=DEADMAN)


async def check_deadman(
    runner: DetectorRunner, config: OpsConfig, detectors: Sequence[Detector]
) -> list[AlertEvent]:
    """Fire for every heartbeat source and detector silent past its interval plus grace, and
    resolve those that came back (or are no longer watched); returns the events sent."""
    now = runner.wall()
    watched = watches(config, detectors)
    lives = await asyncio.to_thread(
        signs_of_life, runner.engine, [w.name for w in watched], now=now.timestamp()
    )
    alarms = [e for w in watched if (e := silent(w, lives.get(w.name), now)) is not None]
    return await runner.announce(DEADMAN, DEADMAN, Findings(firing=alarms), now=now, life=None)
