"""Scheduler: slot claims are exclusive across replicas, jobs run once per slot, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender
from bot.settings import Settings
from bot.store.models import Heartbeat, JobSlot, OutboxMessage
from bot.store.replicas import write_heartbeat
from scheduler.jobs import prune_old_rows
from scheduler.runner import Scheduler, build_scheduler
from scheduler.slots import claim_slot, run_once_per_slot, slot_key
from tests.fakeslack import FakeSlack

TOKEN = "xoxb-scheduler-test"
REPO = Path(__file__).resolve().parents[1]
DAY = 86400.0


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def settings_for(slack: FakeSlack, db_url: str, *, outbox_interval: float) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_api_url=slack.api_url,
        slack_bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=db_url,
        switchboard_outbox_interval=outbox_interval,
        switchboard_channel_pace=0.05,
    )


def test_slot_key_rounds_to_the_nearest_boundary_so_skewed_clocks_agree() -> None:
    assert slot_key(10, now=1000.4) == slot_key(10, now=999.6)  # 0.8 s of skew, one slot
    assert slot_key(10, now=1004.9) != slot_key(10, now=1005.1)
    assert slot_key(30, now=60.0) == "1970-01-01T00:01:00.000+00:00"
    with pytest.raises(ValueError):
        slot_key(0)


def _race_for_slot(engine: Engine, slot: str, claimers: int) -> dict[str, bool]:
    barrier = threading.Barrier(claimers)
    results: dict[str, bool] = {}

    def claim(replica: str) -> None:
        barrier.wait()  # all threads INSERT at the same moment
        results[replica] = claim_slot(engine, "digest:weekly", slot, replica)

    threads = [threading.Thread(target=claim, args=(f"replica-{i}",)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_only_one_of_many_concurrent_claims_of_a_slot_wins(db_engine: Engine) -> None:
    for round_ in range(5):
        slot = f"slot-{round_}"
        results = _race_for_slot(db_engine, slot, 8)
        winners = [r for r, won in results.items() if won]
        assert len(results) == 8 and len(winners) == 1, results
        with db_engine.connect() as conn:
            row = conn.execute(
                select(JobSlot.claimed_by).where(
                    JobSlot.job_id == "digest:weekly", JobSlot.slot == slot
                )
            ).one()
        assert row.claimed_by == winners[0]


async def test_run_once_per_slot_runs_the_job_only_for_the_replica_that_wins(
    db_engine: Engine,
) -> None:
    ran: list[str] = []

    async def job_for(replica: str) -> bool:
        async def job() -> None:
            ran.append(replica)

        return await run_once_per_slot(db_engine, "prune", "2026-11-23", replica, job)

    outcomes = await asyncio.gather(*(job_for(f"r{i}") for i in range(4)))
    assert sorted(outcomes) == [False, False, False, True]
    assert len(ran) == 1
    assert await job_for("r9") is False  # the slot stays taken
    assert await run_once_per_slot(db_engine, "prune", "2026-11-24", "r9", lambda: asyncio.sleep(0))


async def test_scheduler_starts_and_shuts_down_cleanly_inside_the_event_loop(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    settings = settings_for(slack, db_url, outbox_interval=0.5)
    sender = OutboxSender.from_settings(db_engine, settings, replica_id="solo")
    sched = build_scheduler(settings, db_engine, replica_id="solo", outbox_sender=sender)
    sched.start()
    try:
        assert sched.running
        assert sched.job_ids() == ["heartbeat", "outbox_drain", "prune"]
        for job in sched.aps.get_jobs():
            assert (job.coalesce, job.max_instances) == (True, 1)
            assert job.misfire_grace_time is not None
        assert await slack.wait_for_async(lambda _: _heartbeats(db_engine) != {}, timeout=3)
    finally:
        await sched.shutdown()
        await sender.aclose()
    assert not sched.running
    assert _heartbeats(db_engine).keys() == {"solo"}
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert [t for t in leftovers if not t.done()] == []


def skipped_slots(slots: list[str], every: float) -> int:
    """How many slot boundaries between the first and the last slot run have no run."""
    times = sorted({datetime.fromisoformat(slot).timestamp() for slot in slots})
    return round((times[-1] - times[0]) / every) + 1 - len(times)


def _heartbeats(engine: Engine) -> dict[str, float]:
    with engine.connect() as conn:
        return {r.replica: r.beat_at for r in conn.execute(select(Heartbeat))}


async def test_two_schedulers_run_each_slot_job_once_per_slot_and_deliver_each_message_once(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    interval, beat = 0.25, 0.5
    settings = settings_for(slack, db_url, outbox_interval=interval)
    outbox = Outbox(db_engine)  # no notify listener: only the outbox_drain sweep finds these
    ids = [
        outbox.enqueue(method="chat.postMessage", channel=ch, payload={"text": f"{ch}-{i}"})
        for i in range(3)
        for ch in ("C_X", "C_Y")
    ]
    scheds, senders = [], []
    for replica in ("replica-a", "replica-b"):
        sender = OutboxSender.from_settings(db_engine, settings, replica_id=replica)
        senders.append(sender)
        scheds.append(
            build_scheduler(
                settings,
                db_engine,
                replica_id=replica,
                outbox_sender=sender,
                heartbeat_seconds=beat,
            )
        )

    def runs(sched: Scheduler, job: str) -> list[str]:
        return [slot for job_id, slot in sched.ctx.runs if job_id.startswith(job)]

    def enough() -> bool:  # ~2 s of slots (8 sweeps between them, 4 beats each), all sent
        drains = {slot for sched in scheds for slot in runs(sched, "outbox_drain")}
        return (
            len(drains) >= 8
            and all(len(runs(s, "heartbeat:")) >= 4 for s in scheds)
            and all(outbox.status(i).status == "sent" for i in ids)
        )

    for sched in scheds:
        sched.start()
    try:
        for _ in range(600):  # a guard against a scheduler that never runs, not a measurement
            if enough():
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"the schedulers ran too few slots: {[list(s.ctx.runs) for s in scheds]}")
    finally:
        for sched in scheds:
            await sched.shutdown()
        for sender in senders:
            await sender.aclose()

    drains = [slot for sched in scheds for slot in runs(sched, "outbox_drain")]
    assert len(drains) == len(set(drains)), "a drain slot ran on both replicas"
    assert skipped_slots(drains, interval) <= 3  # and (almost) every slot ran somewhere
    for sched in scheds:
        beats = runs(sched, "heartbeat:")
        assert len(beats) == len(set(beats)) and skipped_slots(beats, beat) <= 2
    with db_engine.connect() as conn:
        claims = conn.execute(select(JobSlot.job_id, JobSlot.slot, JobSlot.claimed_by)).all()
    ran = {(job, slot, s.ctx.replica_id) for s in scheds for job, slot in s.ctx.runs}
    assert ran <= set(claims)  # every run is backed by its replica's claim
    assert _heartbeats(db_engine).keys() == {"replica-a", "replica-b"}

    texts = [c.params["text"] for c in slack.calls_to("chat.postMessage")]
    assert sorted(texts) == sorted(f"{ch}-{i}" for i in range(3) for ch in ("C_X", "C_Y"))
    assert [m["text"] for m in slack.messages("C_X")] == ["C_X-0", "C_X-1", "C_X-2"]
    assert all(outbox.status(i).status == "sent" for i in ids)


def test_prune_deletes_old_slots_and_old_sent_messages_but_keeps_dead_and_referenced_ones(
    db_engine: Engine,
) -> None:
    now = time.time()
    old, recent = now - 8 * DAY, now - 2 * DAY
    slots = [
        ("digest:weekly", "old", old),
        ("digest:weekly", "recent", recent),
        ("outbox_drain", "recent", recent),  # frequent jobs keep one day only
        ("heartbeat:r1", "fresh", now - 60),
    ]
    msg = OutboxMessage.__table__  # type: ignore[attr-defined]
    with db_engine.begin() as conn:
        for job_id, slot, at in slots:
            conn.execute(
                insert(JobSlot.__table__).values(  # type: ignore[attr-defined]
                    job_id=job_id, slot=slot, claimed_by="r1", claimed_at=at
                )
            )

        def add(id_: int, status: str, sent_at: float | None, parent: int | None = None) -> None:
            conn.execute(
                insert(msg).values(
                    id=id_,
                    channel="C1",
                    method="chat.postMessage",
                    payload="{}",
                    status=status,
                    attempts=1,
                    not_before=0,
                    created_at=old,
                    sent_at=sent_at,
                    parent_id=parent,
                )
            )

        add(1, "sent", old)  # old: goes
        add(2, "sent", recent)  # recent: stays
        add(3, "dead", None)  # dead: kept for inspection
        add(4, "sent", old)  # old, but a recent reply points at it: stays
        add(5, "sent", recent, parent=4)
        add(6, "sent", old)  # old parent of an old reply: both go
        add(7, "sent", old, parent=6)

    pruned = prune_old_rows(db_engine, now=now)

    with db_engine.connect() as conn:
        left_slots = {(r.job_id, r.slot) for r in conn.execute(select(JobSlot))}
        left_msgs = {r.id for r in conn.execute(select(msg.c.id))}
    assert left_slots == {("digest:weekly", "recent"), ("heartbeat:r1", "fresh")}
    assert left_msgs == {2, 3, 4, 5}
    assert (pruned.slots, pruned.messages) == (2, 3)


@pytest.mark.slow  # a real subprocess: a new interpreter imports the bot
def test_python_m_scheduler_delivers_and_stops_on_sigterm(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    outbox = Outbox(db_engine)
    msg = outbox.enqueue(method="chat.postMessage", channel="C1", payload={"text": "from cron"})
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SWITCHBOARD_OUTBOX_INTERVAL": "0.2",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler"], cwd=REPO, env=env, stderr=subprocess.PIPE
    )
    try:
        delivered = slack.wait_for(lambda s: len(s.calls_to("chat.postMessage")) == 1, timeout=15)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert delivered and alive, stderr[-2000:]
    assert code == 0, stderr[-2000:]
    assert outbox.status(msg).status == "sent"
    assert len(_heartbeats(db_engine)) == 1


def test_prune_forgets_heartbeats_of_replicas_silent_for_a_week(db_engine: Engine) -> None:
    now = time.time()
    write_heartbeat(db_engine, replica_id="long-gone", now=now - 8 * DAY, started_at=0, every=2)
    write_heartbeat(db_engine, replica_id="alive", now=now - 5, started_at=0, every=2)
    pruned = prune_old_rows(db_engine, now=now)
    assert pruned.replicas == 1
    assert _heartbeats(db_engine).keys() == {"alive"}
