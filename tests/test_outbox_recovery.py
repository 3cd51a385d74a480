"""After a crash, a restarted replica takes over what the dead one had in flight at once: a lease
is the holder's only while it beats (or until the holder says it stopped), not for its full term.
Decided on an injected clock; the crash test kills a real sender process mid-drain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender, queue
from bot.settings import Settings
from bot.store.models import Heartbeat, OutboxMessage
from bot.store.replicas import GONE_AFTER_BEATS, mark_stopped, write_heartbeat
from scheduler.runner import build_scheduler
from tests.fakeslack import FakeSlack
from tests.test_outbox import pending_ids, post, texts

T0 = 1_900_000_000.0  # the injected clock's start
LEASE = 30.0
BEAT = 2.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def outbox(db_engine: Engine) -> Outbox:
    return Outbox(db_engine)


def head_of(engine: Engine, msg: int, now: float) -> queue.Head | None:
    return next((h for h in queue.scan_heads(engine, now).due if h.id == msg), None)


def leased_to(engine: Engine, outbox: Outbox, owner: str, *, now: float = T0) -> int:
    """A message in C1 leased to ``owner`` at ``now`` for LEASE seconds."""
    msg = post(outbox, "C1", "in flight when its sender died")
    head = head_of(engine, msg, now)
    assert head is not None
    assert queue.claim(engine, head, owner=owner, now=now, lease_seconds=LEASE)
    return msg


def beat(engine: Engine, replica: str, at: float) -> None:
    write_heartbeat(engine, replica_id=replica, now=at, started_at=T0 - 60, every=BEAT)


def test_a_lease_is_taken_over_once_its_holder_has_missed_its_beats(
    db_engine: Engine, outbox: Outbox
) -> None:
    beat(db_engine, "dead", T0)
    msg = leased_to(db_engine, outbox, "dead")
    gone = T0 + BEAT * GONE_AFTER_BEATS
    assert head_of(db_engine, msg, gone - 0.01) is None  # still beating, as far as anyone knows
    assert queue.scan_heads(db_engine, T0 + 1).next_due == pytest.approx(gone)
    head = head_of(db_engine, msg, gone)
    assert head is not None and head.lease_owner == "dead"
    assert queue.claim(db_engine, head, owner="restarted", now=gone, lease_seconds=LEASE)
    assert outbox.status(msg).lease_owner == "restarted"
    assert gone < T0 + LEASE  # sooner than the lease would have let it


def test_a_holder_that_keeps_beating_keeps_its_lease_for_the_full_term(
    db_engine: Engine, outbox: Outbox
) -> None:
    msg = leased_to(db_engine, outbox, "alive")
    for at in range(0, int(LEASE), int(BEAT)):
        beat(db_engine, "alive", T0 + at)
        assert head_of(db_engine, msg, T0 + at + BEAT * 0.9) is None
    head = head_of(db_engine, msg, T0 + LEASE)  # the lease itself still ends
    assert head is not None
    assert queue.claim(db_engine, head, owner="other", now=T0 + LEASE, lease_seconds=LEASE)


def test_a_lease_of_a_replica_that_stopped_cleanly_is_free_at_once(
    db_engine: Engine, outbox: Outbox
) -> None:
    beat(db_engine, "stopping", T0)
    msg = leased_to(db_engine, outbox, "stopping")
    mark_stopped(db_engine, replica_id="stopping", now=T0 + 0.5)
    head = head_of(db_engine, msg, T0 + 0.5)
    assert head is not None
    assert queue.claim(db_engine, head, owner="restarted", now=T0 + 0.5, lease_seconds=LEASE)


def test_a_holder_that_never_beat_is_waited_out_for_the_whole_lease(
    db_engine: Engine, outbox: Outbox
) -> None:
    msg = leased_to(db_engine, outbox, "no-heartbeat")  # e.g. a sender run without the scheduler
    assert head_of(db_engine, msg, T0 + LEASE - 0.01) is None
    assert head_of(db_engine, msg, T0 + LEASE) is not None


def test_a_replica_that_beats_again_is_no_longer_stopped(db_engine: Engine) -> None:
    beat(db_engine, "r1", T0)
    mark_stopped(db_engine, replica_id="r1", now=T0 + 1)
    beat(db_engine, "r1", T0 + 2)
    with db_engine.connect() as conn:
        row = conn.execute(select(Heartbeat).where(Heartbeat.replica == "r1")).one()
    assert (row.beat_at, row.every, row.stopped_at) == (T0 + 2, BEAT, None)


def _race(engine: Engine, head: queue.Head, at: float, claimers: int) -> list[str]:
    barrier = threading.Barrier(claimers)
    wins: list[str] = []

    def claim(owner: str) -> None:
        barrier.wait()  # every claimer UPDATEs at the same moment
        if queue.claim(engine, head, owner=owner, now=at, lease_seconds=LEASE):
            wins.append(owner)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins


def test_many_replicas_taking_over_one_gone_lease_never_both_win(
    db_engine: Engine, outbox: Outbox
) -> None:
    for round_ in range(8):
        dead = f"dead-{round_}"
        beat(db_engine, dead, T0)
        msg = post(outbox, f"C_RACE_{round_}", "x")
        first = head_of(db_engine, msg, T0)
        assert first is not None
        assert queue.claim(db_engine, first, owner=dead, now=T0, lease_seconds=LEASE)
        later = T0 + BEAT * GONE_AFTER_BEATS + 1
        head = head_of(db_engine, msg, later)
        assert head is not None
        wins = _race(db_engine, head, later, 4)
        assert len(wins) == 1, wins
        assert outbox.status(msg).lease_owner == wins[0]


# ---- a real crash ------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _start_worker(db_url: str, slack: FakeSlack, replica: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-outbox-recovery",
        "SWITCHBOARD_OUTBOX_INTERVAL": "0.1",
        "PYTHONPATH": str(REPO),
    }
    args = [sys.executable, str(REPO / "tests" / "outbox_worker.py"), "--replica", replica]
    # An hour's lease: only the heartbeat can explain a take-over within the test.
    args += ["--pace", "0.05", "--lease", "3600", "--timeout", "1.0", "--heartbeat", "0.2"]
    return subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.PIPE)


def test_a_restarted_sender_resends_what_a_killed_one_had_in_flight_without_waiting_its_lease(
    outbox: Outbox, db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    channels = ("C_R1", "C_R2", "C_R3")
    ids = [post(outbox, ch, f"{ch}-{i:02d}") for i in range(10) for ch in channels]
    slack.hang_next("chat.postMessage", seconds=0.3, times=15)  # keeps posts in flight
    first = _start_worker(db_url, slack, "crashing")
    try:
        caught = slack.wait_for(
            lambda s: (
                len(s.calls_to("chat.postMessage")) >= 6 and any(c.status is None for c in s.calls)
            ),
            timeout=30,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        if first.poll() is None:
            first.kill()
    assert caught, (first.stderr.read() if first.stderr else b"").decode()[-2000:]
    with db_engine.connect() as conn:
        held = conn.execute(
            select(OutboxMessage.id, OutboxMessage.lease_until).where(
                OutboxMessage.status == "pending", OutboxMessage.lease_owner == "crashing"
            )
        ).all()
        stopped = conn.execute(
            select(Heartbeat.stopped_at).where(Heartbeat.replica == "crashing")
        ).scalar_one()
    in_flight = {r.id for r in held}
    assert 1 <= len(in_flight) <= len(channels)
    assert stopped is None  # killed, not stopped: only its silence can free the leases
    assert pending_ids(db_engine, ids)

    second = _start_worker(db_url, slack, "restarted")
    try:
        # The leases run for an hour; this bound is far inside it.
        assert slack.wait_for(lambda s: not pending_ids(db_engine, ids), timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0

    in_flight_texts = {json.loads(outbox.status(i).payload)["text"] for i in in_flight}
    for ch in channels:
        delivered = texts(slack, ch)
        assert list(dict.fromkeys(delivered)) == [f"{ch}-{i:02d}" for i in range(10)]
        repeated = [t for t, n in Counter(delivered).items() if n > 1]
        assert set(repeated) <= in_flight_texts
    total = sum(len(texts(slack, ch)) for ch in channels)
    assert len(ids) <= total <= len(ids) + len(in_flight)
    assert all(outbox.status(i).status == "sent" for i in ids)
    with db_engine.connect() as conn:
        beats = {r.replica: r.stopped_at for r in conn.execute(select(Heartbeat))}
    assert beats["restarted"] is not None  # the clean stop was recorded


async def test_the_scheduler_beats_with_its_interval_and_records_its_clean_stop(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_api_url=slack.api_url,
        slack_bot_token="xoxb-outbox-recovery",  # type: ignore[arg-type]
        database_url=db_url,
        switchboard_heartbeat_seconds=0.2,
    )
    sender = OutboxSender.from_settings(db_engine, settings, replica_id="beating")
    sched = build_scheduler(settings, db_engine, replica_id="beating", outbox_sender=sender)

    def row() -> Any:
        with db_engine.connect() as conn:
            return conn.execute(select(Heartbeat).where(Heartbeat.replica == "beating")).first()

    sched.start()
    try:
        assert await slack.wait_for_async(lambda _: row() is not None, timeout=10)
        first = row()
        assert (first.every, first.stopped_at) == (0.2, None)
        assert await slack.wait_for_async(lambda _: row().beat_at > first.beat_at, timeout=10)
    finally:
        await sched.shutdown()
        await sender.aclose()
    assert row().stopped_at is not None
