"""The dead-man's switch with a clock the test moves: a heartbeat source or a detector silent past
its interval plus grace fires "… have stopped"; a sign of life resolves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.incidents.alerts import AlertStatus, Severity, Subject, SubjectKind
from bot.incidents.detectors import (
    Detector,
    DetectorRunner,
    Findings,
    build_detectors,
    check_deadman,
    record_heartbeat,
)
from bot.ops_config import OpsConfig
from bot.store.models import DetectorHeartbeat
from integrations.hub import Sources
from tests.incidents.detectors.conftest import Clock, RecordingSink, deps_for, example_config

WATCHDOG = {"source": "alertmanager", "alert": "Watchdog", "interval": "5m", "grace": "2m"}


def config_with(*heartbeats: dict[str, str], **detectors: object) -> OpsConfig:
    return example_config(heartbeats=list(heartbeats), detectors=detectors)


def runner_for(engine: Engine, sink: RecordingSink, clock: Clock, config: OpsConfig):
    return DetectorRunner(
        engine=engine,
        sink=sink,
        deps=lambda now: deps_for(Sources(), config, now),
        clock=clock,
        wall=clock,
    )


async def test_a_silent_watchdog_fires_once_and_resolves_when_it_beats_again(
    db_engine: Engine, sink: RecordingSink, clock: Clock
):
    config = config_with(WATCHDOG)
    runner = runner_for(db_engine, sink, clock, config)
    record_heartbeat(db_engine, "alertmanager", clock())
    for _ in range(7):  # 7 minutes: within 5m + 2m grace
        clock.advance(minutes=1)
        assert await check_deadman(runner, config, []) == []
    clock.advance(seconds=1)
    (event,) = await check_deadman(runner, config, [])
    assert event.dedup_key == "deadman:source:alertmanager"
    assert (event.status, event.severity, event.source) == (
        AlertStatus.firing,
        Severity.critical,
        "deadman",
    )
    assert event.title == "Alerts from alertmanager have stopped"
    assert "No Watchdog alert from alertmanager since 2026-11-23 12:00 UTC" in event.summary
    assert "expected every 5m, 2m grace" in event.summary
    assert event.subject == Subject(SubjectKind.source, "alertmanager")
    clock.advance(minutes=1)
    assert await check_deadman(runner, config, []) == []  # still silent: said once
    record_heartbeat(db_engine, "alertmanager", clock())
    (back,) = await check_deadman(runner, config, [])
    assert (back.dedup_key, back.status) == ("deadman:source:alertmanager", AlertStatus.resolved)
    assert await check_deadman(runner, config, []) == []


async def test_a_source_never_heard_from_counts_from_when_watching_began(
    db_engine: Engine, sink: RecordingSink, clock: Clock
):
    config = config_with({"source": "generic:datadog", "interval": "10m"})  # grace: 10m default
    runner = runner_for(db_engine, sink, clock, config)
    assert await check_deadman(runner, config, []) == []
    clock.advance(minutes=20)
    assert await check_deadman(runner, config, []) == []
    clock.advance(seconds=1)
    (event,) = await check_deadman(runner, config, [])
    assert event.title == "Alerts from generic:datadog have stopped"
    assert "No event from generic:datadog since watching began at 2026-11-23 12:00" in (
        event.summary
    )


async def test_an_old_out_of_order_heartbeat_does_not_move_the_last_sign_of_life_back(
    db_engine: Engine, clock: Clock
):
    record_heartbeat(db_engine, "alertmanager", clock())
    record_heartbeat(db_engine, "alertmanager", clock() - timedelta(hours=1))
    record_heartbeat(db_engine, "alertmanager", clock().timestamp() - 60)
    with db_engine.connect() as conn:
        row = conn.execute(select(DetectorHeartbeat)).one()
    assert (row.name, row.last_good_at) == ("source:alertmanager", clock().timestamp())
    record_heartbeat(db_engine, "alertmanager", clock() + timedelta(seconds=5))
    with db_engine.connect() as conn:
        assert conn.execute(select(DetectorHeartbeat.last_good_at)).scalar_one() == (
            clock().timestamp() + 5
        )


async def test_a_detector_without_a_good_run_past_its_interval_fires_with_its_last_problem(
    db_engine: Engine, sink: RecordingSink, clock: Clock
):
    config = config_with(deadman_grace="3m")
    runner = runner_for(db_engine, sink, clock, config)
    problems: list[str] = []

    async def detect(_deps: object) -> Findings:
        from integrations.models import SourceProblem

        return Findings(problems=tuple(SourceProblem(source="demo", reason=p) for p in problems))

    detector = Detector("pipeline_failure", detect, timedelta(minutes=5))  # type: ignore[arg-type]
    await runner.run(detector)  # a good run at 12:00
    problems.append("timed out after 5.0 s")
    for _ in range(8):  # runs that do not read their sources are not good runs
        clock.advance(minutes=1)
        await runner.run(detector)
        assert await check_deadman(runner, config, [detector]) == []
    clock.advance(minutes=1)
    (event,) = await check_deadman(runner, config, [detector])
    assert event.dedup_key == "deadman:detector:pipeline_failure"
    assert event.title == "Detector pipeline_failure has stopped"
    assert "No good run since 2026-11-23 12:00 UTC (expected every 5m, 3m grace)" in event.summary
    assert "Last problem: demo: timed out after 5.0 s" in event.summary
    problems.clear()
    await runner.run(detector)
    (back,) = await check_deadman(runner, config, [detector])
    assert back.status is AlertStatus.resolved


async def test_a_watch_removed_from_ops_yml_resolves(
    db_engine: Engine, sink: RecordingSink, clock: Clock
):
    config = config_with(WATCHDOG)
    runner = runner_for(db_engine, sink, clock, config)
    await check_deadman(runner, config, [])
    clock.advance(hours=1)
    assert len(await check_deadman(runner, config, [])) == 1
    quiet = config_with()
    (gone,) = await check_deadman(runner_for(db_engine, sink, clock, quiet), quiet, [])
    assert (gone.dedup_key, gone.status) == ("deadman:source:alertmanager", AlertStatus.resolved)


def test_heartbeats_in_ops_yml_say_which_events_count_and_refuse_unknown_sources():
    config = config_with(WATCHDOG, {"source": "generic:datadog", "interval": "1h"})
    incidents = config.incidents
    assert incidents.heartbeat_for(source="alertmanager", alert="Watchdog") is not None
    assert incidents.heartbeat_for(source="alertmanager", alert="HighLatency") is None
    assert incidents.heartbeat_for(source="generic:datadog", alert=None) is not None
    assert incidents.heartbeat_for(source="generic:other") is None
    with pytest.raises(ValidationError, match="generic:<name>"):
        config_with({"source": "datadog", "interval": "5m"})
    with pytest.raises(ValidationError, match="alertmanager declared more than once"):
        config_with(WATCHDOG, {**WATCHDOG, "alert": None})
    with pytest.raises(ValidationError, match="duration"):
        config_with({**WATCHDOG, "interval": "5"})


def test_every_enabled_detector_is_watched_and_disabled_ones_are_not():
    config = config_with(model_drift={"enabled": False}, pipeline_failure=False, every="2m")
    names = {d.name for d in build_detectors(config)}
    assert "model_drift" not in names and "pipeline_failure" not in names
    assert "spend_anomaly" in names
    assert {d.every for d in build_detectors(config)} == {timedelta(minutes=2)}
