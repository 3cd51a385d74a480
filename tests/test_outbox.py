"""The outbox delivers to a real (fake) Slack over HTTP: order, pacing, retries, leases, crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender, queue
from bot.outbox.enqueue import OutboxError
from bot.store.models import OutboxMessage
from tests.fakeslack import FakeSlack

TOKEN = "xoxb-outbox-test"
PACE = 0.2
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def outbox(db_engine: Engine) -> Outbox:
    return Outbox(db_engine)


@pytest.fixture
async def make_sender(
    db_engine: Engine, slack: FakeSlack
) -> AsyncIterator[Callable[..., OutboxSender]]:
    made: list[OutboxSender] = []

    def make(replica_id: str = "r1", **overrides: Any) -> OutboxSender:
        options: dict[str, Any] = dict(
            base_url=slack.api_url,
            token=TOKEN,
            replica_id=replica_id,
            channel_pace=PACE,
            lease_seconds=5.0,
            timeout=1.0,
            backoff_base=0.05,
            backoff_max=0.2,
        )
        options.update(overrides)
        sender = OutboxSender(db_engine, **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.aclose()


def pending_ids(engine: Engine, ids: list[int]) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(ids), OutboxMessage.status == "pending"
            )
        )
        return [r[0] for r in rows]


async def run_until_settled(
    engine: Engine, senders: list[OutboxSender], ids: list[int], *, timeout: float = 10.0
) -> float:
    """Run the senders until none of ``ids`` is pending; returns the elapsed seconds."""
    stop = asyncio.Event()
    started = time.monotonic()
    tasks = [asyncio.create_task(s.run(stop, poll_interval=0.5)) for s in senders]
    try:
        while pending_ids(engine, ids):
            assert time.monotonic() - started < timeout, "outbox did not settle in time"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return time.monotonic() - started


def post_calls(slack: FakeSlack, channel: str, *, include_failed: bool = False) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage", include_failed=include_failed)
        if c.params.get("channel") == channel
    ]


def texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m["text"] for m in slack.messages(channel)]


def post(outbox: Outbox, channel: str, text: str, **kwargs: Any) -> int:
    return outbox.enqueue(
        method="chat.postMessage", channel=channel, payload={"text": text}, **kwargs
    )


# ---- enqueue ----------------------------------------------------------------------------------


def test_enqueue_with_the_same_dedupe_key_returns_the_first_message(outbox: Outbox) -> None:
    first = post(outbox, "C1", "once", dedupe_key="digest:weekly:2026-W48")
    again = post(outbox, "C1", "twice", dedupe_key="digest:weekly:2026-W48")
    other = post(outbox, "C1", "other", dedupe_key="digest:weekly:2026-W49")
    assert again == first
    assert other != first
    assert outbox.status(first).payload == '{"text":"once"}'


def test_concurrent_enqueues_with_one_dedupe_key_make_one_message(
    outbox: Outbox, db_engine: Engine
) -> None:
    barrier = threading.Barrier(6)
    ids: list[int] = []

    def enqueue() -> None:
        barrier.wait()
        ids.append(post(outbox, "C1", "approval posted", dedupe_key="approval:42"))

    threads = [threading.Thread(target=enqueue) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 6
    with db_engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.id)).all()
    assert len(rows) == 1


def test_enqueue_rejects_methods_and_arguments_it_cannot_send(outbox: Outbox) -> None:
    with pytest.raises(OutboxError, match="views.open"):
        outbox.enqueue(method="views.open", channel="C1", payload={})
    with pytest.raises(OutboxError, match="needs parent_id"):
        outbox.enqueue(method="chat.update", channel="C1", payload={"text": "x"})
    with pytest.raises(OutboxError, match="does not exist"):
        post(outbox, "C1", "reply", parent_id=999_999)


# ---- order, pacing, threads -------------------------------------------------------------------


async def test_one_channel_keeps_enqueue_order_and_pace_while_channels_run_in_parallel(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    ids = [post(outbox, ch, f"{ch}-{i}") for i in range(4) for ch in ("C_A", "C_B")]
    sent_before = REGISTRY.get_sample_value(
        "switchboard_outbox_sent_total", {"method": "chat.postMessage"}
    )
    await run_until_settled(db_engine, [make_sender()], ids)

    for ch in ("C_A", "C_B"):
        assert texts(slack, ch) == [f"{ch}-{i}" for i in range(4)]
        stamps = [c.at for c in post_calls(slack, ch)]
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert min(gaps) >= PACE * 0.95, gaps
    a, b = post_calls(slack, "C_A"), post_calls(slack, "C_B")
    # Parallel, not one channel after the other: B's first post precedes A's second.
    assert b[0].at < a[1].at and a[0].at < b[1].at
    sent_after = REGISTRY.get_sample_value(
        "switchboard_outbox_sent_total", {"method": "chat.postMessage"}
    )
    assert (sent_after or 0) - (sent_before or 0) == 8
    assert outbox.status(ids[0]).result_channel == "C_A"
    assert outbox.status(ids[0]).result_ts == slack.messages("C_A")[0]["ts"]


async def test_reply_gets_parents_ts_as_thread_ts_and_update_and_delete_get_ts(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    root = post(outbox, "C_INC", "incident opened")
    reply = post(outbox, "C_INC", "second alert", parent_id=root)
    update = outbox.enqueue(
        method="chat.update",
        channel="C_INC",
        payload={"text": "incident (2 alerts)"},
        parent_id=root,
    )
    # A DM addressed to a user id lands in a D… channel; its reply must name that channel.
    dm = post(outbox, "U_ALICE", "approve?")
    dm_reply = post(outbox, "U_ALICE", "reminder", parent_id=dm)
    doomed = post(outbox, "C_INC", "temporary")
    delete = outbox.enqueue(method="chat.delete", channel="C_INC", payload={}, parent_id=doomed)
    await run_until_settled(db_engine, [make_sender()], [root, reply, update, dm_reply, delete])

    root_ts = outbox.status(root).result_ts
    assert root_ts is not None
    replies = slack.messages("C_INC", thread_ts=root_ts)
    assert [m["text"] for m in replies] == ["second alert"]
    updates = slack.calls_to("chat.update")
    assert len(updates) == 1 and updates[0].params["ts"] == root_ts
    assert slack.messages("C_INC")[0]["text"] == "incident (2 alerts)"
    assert outbox.status(dm).result_channel == "D_ALICE"
    dm_replies = slack.messages("D_ALICE", thread_ts=outbox.status(dm).result_ts)
    assert [m["text"] for m in dm_replies] == ["reminder"]
    deletes = slack.calls_to("chat.delete")
    assert len(deletes) == 1 and deletes[0].params["ts"] == outbox.status(doomed).result_ts
    assert "temporary" not in texts(slack, "C_INC")


async def test_reply_to_a_dead_parent_is_dead_too(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    slack.missing_channels.add("C_GONE")
    root = post(outbox, "C_GONE", "root")
    reply = post(outbox, "C_GONE", "reply", parent_id=root)
    await run_until_settled(db_engine, [make_sender()], [root, reply])
    assert outbox.status(reply).status == "dead"
    assert "parent" in (outbox.status(reply).last_error or "")
    assert len(slack.calls_to("chat.postMessage", include_failed=True)) == 1


async def test_notify_wakes_an_idle_sender_at_once(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    sender = make_sender()
    outbox.attach(sender)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop, poll_interval=None))  # no polling at all
    await asyncio.sleep(0.2)
    await asyncio.to_thread(post, outbox, "C1", "hello")
    try:
        # With no polling, the notify's wake-up is the only thing that can send it.
        assert await slack.wait_for_async(lambda s: len(texts(s, "C1")) == 1, timeout=3)
    finally:
        stop.set()
        await task


# ---- failures ---------------------------------------------------------------------------------


async def test_rate_limited_channel_waits_retry_after_while_other_channels_flow(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    sender = make_sender()
    limited = post(outbox, "C_SLOW", "first")
    follow = post(outbox, "C_SLOW", "second")
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    assert await sender.drain_once() == 0
    refused_at = slack.calls[-1].at
    others = [post(outbox, "C_FAST", f"fast-{i}") for i in range(3)]

    await run_until_settled(db_engine, [sender], [limited, follow, *others])

    fast = post_calls(slack, "C_FAST")
    slow = post_calls(slack, "C_SLOW")
    assert [c.params["text"] for c in slow] == ["first", "second"]
    assert slow[0].at - refused_at >= 1.0  # Retry-After honoured for that channel
    assert fast[-1].at < slow[0].at  # … while the other channel was not held up
    assert outbox.status(limited).attempts == 1  # the 429 did not count as a failed attempt


async def test_server_errors_are_retried_with_backoff_until_delivered(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    msg = post(outbox, "C1", "eventually")
    slack.fail_next("chat.postMessage", status=500, times=2)
    await run_until_settled(db_engine, [make_sender()], [msg])
    calls = post_calls(slack, "C1", include_failed=True)
    assert [c.status for c in calls] == [500, 500, 200]
    row = outbox.status(msg)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert texts(slack, "C1") == ["eventually"]


async def test_message_is_dead_after_max_attempts_and_its_channel_moves_on(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    doomed = post(outbox, "C1", "doomed")
    after = post(outbox, "C1", "after")
    slack.fail_next("chat.postMessage", status=500, times=3)
    await run_until_settled(db_engine, [make_sender(max_attempts=3)], [doomed, after])
    row = outbox.status(doomed)
    assert row.status == "dead" and row.attempts == 3
    assert row.last_error == "HTTP 500 (after 3 attempts)"
    assert outbox.status(after).status == "sent"
    assert texts(slack, "C1") == ["after"]


async def test_permanent_slack_error_is_dead_at_once_without_retry(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    doomed = post(outbox, "C1", "to nowhere")
    after = post(outbox, "C1", "next")
    slack.fail_next("chat.postMessage", error="channel_not_found")
    await run_until_settled(db_engine, [make_sender()], [doomed, after])
    row = outbox.status(doomed)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "channel_not_found")
    assert [c.params["text"] for c in post_calls(slack, "C1", include_failed=True)] == [
        "to nowhere",
        "next",
    ]


async def test_call_that_hangs_past_the_timeout_is_retried_and_delivered(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    msg = post(outbox, "C1", "slow slack")
    slack.hang_next("chat.postMessage", seconds=1.5)
    await run_until_settled(db_engine, [make_sender(timeout=0.5)], [msg])
    row = outbox.status(msg)
    assert row.status == "sent" and row.attempts == 2
    assert row.last_error is None
    calls = post_calls(slack, "C1", include_failed=True)
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 0.5
    # The recorded ts is the answer the sender actually received (the retry's).
    assert calls[1].response is not None and row.result_ts == calls[1].response["ts"]


# ---- several senders, crashes -------------------------------------------------------------------


def test_two_claims_on_one_head_never_both_win(outbox: Outbox, db_engine: Engine) -> None:
    def race(head: queue.Head, claimers: int) -> list[str]:
        barrier = threading.Barrier(claimers)
        wins: list[str] = []

        def claim(owner: str) -> None:
            barrier.wait()
            if queue.claim(db_engine, head, owner=owner, now=time.time(), lease_seconds=30):
                wins.append(owner)

        threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(claimers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return wins

    for round_ in range(10):
        msg = post(outbox, f"C{round_}", "x")
        head = next(h for h in queue.scan_heads(db_engine, time.time()).due if h.id == msg)
        wins = race(head, 4)
        assert len(wins) == 1, wins
        assert outbox.status(msg).lease_owner == wins[0]


async def test_two_senders_draining_one_outbox_send_each_message_once_in_order(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    channels = ("C_1", "C_2", "C_3")
    ids = [post(outbox, ch, f"{ch}-{i}") for i in range(6) for ch in channels]
    senders = [
        make_sender("replica-a", channel_pace=0.05),
        make_sender("replica-b", channel_pace=0.05),
    ]
    await run_until_settled(db_engine, senders, ids)

    sent = Counter(c.params["text"] for c in slack.calls_to("chat.postMessage"))
    assert sum(sent.values()) == len(ids) and set(sent.values()) == {1}
    for ch in channels:
        assert texts(slack, ch) == [f"{ch}-{i}" for i in range(6)]
    assert sum(s.sent_count for s in senders) == len(ids)


def _start_worker(db_url: str, slack: FakeSlack, replica: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "PYTHONPATH": str(REPO),
    }
    args = [sys.executable, str(REPO / "tests" / "outbox_worker.py"), "--replica", replica]
    args += ["--pace", "0.05", "--lease", "1.5", "--timeout", "1.0"]
    return subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.PIPE)


@pytest.mark.slow  # real sender subprocesses, one killed mid-drain
def test_sender_killed_mid_drain_loses_nothing_and_repeats_at_most_what_was_in_flight(
    outbox: Outbox, db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    channels = ("C_K1", "C_K2", "C_K3")
    ids = [post(outbox, ch, f"{ch}-{i:02d}") for i in range(10) for ch in channels]
    # Slow answers keep posts in flight, so the kill lands while Slack holds a request.
    slack.hang_next("chat.postMessage", seconds=0.2, times=15)
    first = _start_worker(db_url, slack, "worker-1")
    try:
        caught = slack.wait_for(
            lambda s: (
                len(s.calls_to("chat.postMessage")) >= 6 and any(c.status is None for c in s.calls)
            ),
            timeout=15,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    finally:
        if first.poll() is None:
            first.kill()
    assert caught, (first.stderr.read() if first.stderr else b"").decode()[-2000:]
    with db_engine.connect() as conn:
        in_flight = {
            r.id
            for r in conn.execute(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == "pending", OutboxMessage.lease_owner == "worker-1"
                )
            )
        }
    assert 1 <= len(in_flight) <= len(channels)
    assert pending_ids(db_engine, ids), "the worker finished before it was killed"

    second = _start_worker(db_url, slack, "worker-2")
    try:
        assert slack.wait_for(lambda s: not pending_ids(db_engine, ids), timeout=20)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0

    in_flight_texts = {json.loads(outbox.status(i).payload)["text"] for i in in_flight}
    for ch in channels:
        delivered = texts(slack, ch)
        first_seen = list(dict.fromkeys(delivered))
        assert first_seen == [f"{ch}-{i:02d}" for i in range(10)]  # all there, in order
        repeated = [t for t, n in Counter(delivered).items() if n > 1]
        assert set(repeated) <= in_flight_texts
    total = sum(len(texts(slack, ch)) for ch in channels)
    assert len(ids) <= total <= len(ids) + len(in_flight)
    assert all(outbox.status(i).status == "sent" for i in ids)
