"""Detectors speak only on change: a firing key once, resolved once when it clears, nothing on a
run whose reads were incomplete; the state is in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertEvent, AlertStatus, Severity, Subject, SubjectKind
from bot.incidents.detectors import Detector, DetectorRunner, Findings
from bot.incidents.detectors.base import firing
from bot.store.models import DetectorAlert, DetectorHeartbeat
from integrations.hub import Sources
from integrations.models import SourceProblem
from tests.incidents.detectors.conftest import Clock, RecordingSink, deps_for, example_config


class Scripted:
    """A detector whose findings the test sets before each run."""

    def __init__(self) -> None:
        self.firing: list[AlertEvent] = []
        self.problems: list[SourceProblem] = []
        self.crash = False
        self.calls = 0

    async def __call__(self, deps: AnswerDeps) -> Findings:
        self.calls += 1
        if self.crash:
            raise RuntimeError("boom")
        return Findings(firing=tuple(self.firing), problems=tuple(self.problems))


def alert(key: str, severity: Severity = Severity.warning, *, clock: Clock) -> AlertEvent:
    return firing(
        "scripted",
        key,
        f"{key} is bad",
        now=clock(),
        severity=severity,
        subject=Subject(SubjectKind.pipeline, key.split(":")[1]),
        labels={"pipeline": key.split(":")[1]},
    )


@pytest.fixture
def runner(db_engine: Engine, sink: RecordingSink, clock: Clock) -> DetectorRunner:
    config = example_config()
    return DetectorRunner(
        engine=db_engine,
        sink=sink,
        deps=lambda now: deps_for(Sources(), config, now),
        clock=clock,
        wall=clock,
    )


async def test_a_key_fires_once_and_resolves_once(
    runner: DetectorRunner, sink: RecordingSink, clock: Clock
):
    script = Scripted()
    detector = Detector("scripted", script, timedelta(minutes=5))
    script.firing = [
        alert("pipeline:a:failed", clock=clock),
        alert("pipeline:b:failed", clock=clock),
    ]
    assert [e.dedup_key for e in await runner.run(detector)] == [
        "pipeline:a:failed",
        "pipeline:b:failed",
    ]
    for _ in range(3):  # still failing: nothing new to say
        clock.advance(minutes=5)
        assert await runner.run(detector) == []
    clock.advance(minutes=5)
    script.firing = [alert("pipeline:b:failed", clock=clock)]
    (resolved,) = await runner.run(detector)
    assert (resolved.dedup_key, resolved.status) == ("pipeline:a:failed", AlertStatus.resolved)
    assert resolved.title == "pipeline:a:failed is bad" and resolved.ends_at == clock()
    assert resolved.subject == Subject(SubjectKind.pipeline, "a")
    assert resolved.source == "detector:scripted" and resolved.labels == {"pipeline": "a"}
    assert await runner.run(detector) == []  # resolved once only
    script.firing = [
        alert("pipeline:a:failed", clock=clock),
        alert("pipeline:b:failed", clock=clock),
    ]
    assert [e.dedup_key for e in await runner.run(detector)] == ["pipeline:a:failed"]  # re-fired
    assert sink.keys("firing") == ["pipeline:a:failed", "pipeline:b:failed", "pipeline:a:failed"]
    assert sink.keys("resolved") == ["pipeline:a:failed"]
    assert script.calls == 7


async def test_a_severity_change_is_sent_again(runner: DetectorRunner, clock: Clock):
    script = Scripted()
    detector = Detector("scripted", script, timedelta(minutes=5))
    script.firing = [alert("budget:x:forecast", clock=clock)]
    await runner.run(detector)
    script.firing = [alert("budget:x:forecast", Severity.critical, clock=clock)]
    (again,) = await runner.run(detector)
    assert again.severity is Severity.critical and again.status is AlertStatus.firing
    assert await runner.run(detector) == []


async def test_an_incomplete_read_resolves_nothing_but_still_announces_new_firings(
    runner: DetectorRunner, db_engine: Engine, clock: Clock
):
    script = Scripted()
    detector = Detector("scripted", script, timedelta(minutes=5))
    script.firing = [alert("model:m:drift", clock=clock)]
    await runner.run(detector)
    clock.advance(minutes=5)
    script.firing = [alert("model:n:drift", clock=clock)]
    script.problems = [SourceProblem(source="prometheus", reason="timed out after 5.0 s")]
    assert [e.dedup_key for e in await runner.run(detector)] == ["model:n:drift"]
    with db_engine.connect() as conn:
        beat = conn.execute(select(DetectorHeartbeat)).one()
    assert beat.name == "detector:scripted" and beat.last_problem.startswith("prometheus: timed")
    assert beat.last_good_at < beat.last_run_at  # the incomplete run was not a good one
    script.problems = []
    (resolved,) = await runner.run(detector)
    assert (resolved.dedup_key, resolved.status) == ("model:m:drift", AlertStatus.resolved)


async def test_when_the_sink_fails_the_change_is_sent_on_the_next_run(
    runner: DetectorRunner, sink: RecordingSink, db_engine: Engine, clock: Clock
):
    script = Scripted()
    detector = Detector("scripted", script, timedelta(minutes=5))
    script.firing = [alert("pipeline:a:failed", clock=clock)]
    sink.fail_next = True
    with pytest.raises(RuntimeError, match="sink is down"):
        await runner.run(detector)
    with db_engine.connect() as conn:
        assert conn.execute(select(DetectorAlert)).all() == []
    assert [e.dedup_key for e in await runner.run(detector)] == ["pipeline:a:failed"]
    assert sink.keys() == ["pipeline:a:failed"]


async def test_a_crashing_detector_records_the_crash_and_no_good_run(
    runner: DetectorRunner, db_engine: Engine
):
    script = Scripted()
    script.crash = True
    with pytest.raises(RuntimeError):
        await runner.run(Detector("scripted", script, timedelta(minutes=5)))
    with db_engine.connect() as conn:
        beat = conn.execute(select(DetectorHeartbeat)).one()
    assert (beat.last_good_at, beat.last_problem) == (None, "crashed: RuntimeError")


async def test_detectors_keep_separate_state_for_the_same_key(
    runner: DetectorRunner, sink: RecordingSink, clock: Clock
):
    one, two = Scripted(), Scripted()
    one.firing = two.firing = [alert("model:m:drift", clock=clock)]
    await runner.run(Detector("one", one, timedelta(minutes=5)))
    await runner.run(Detector("two", two, timedelta(minutes=5)))
    two.firing = []
    await runner.run(Detector("two", two, timedelta(minutes=5)))
    assert await runner.run(Detector("one", one, timedelta(minutes=5))) == []
    assert sink.keys("firing") == ["model:m:drift", "model:m:drift"]
    assert sink.keys("resolved") == ["model:m:drift"]
