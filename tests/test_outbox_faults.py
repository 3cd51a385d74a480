"""Answers Slack should never send, through the real sender: each failure is a counted attempt,
a message that keeps failing ends dead after the retry budget (logged and counted), and the
channel's later messages are delivered. Retry-After is read defensively."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.outbox import Outbox, OutboxSender, queue
from bot.outbox.wire import DEFAULT_RETRY_AFTER, MAX_RETRY_AFTER, retry_after_seconds
from bot.store.models import ChannelPace
from tests.fakeslack import FakeSlack
from tests.test_outbox import post, run_until_settled, texts

TOKEN = "xoxb-outbox-faults-0123456789"
BUDGET = 3
JSON = {"Content-Type": "application/json; charset=utf-8"}

GARBAGE: dict[str, tuple[bytes, dict[str, str], str]] = {
    # name: (body, headers, what last_error says)
    "gzip that is not gzip": (
        b'{"ok": true, "ts": "1.2"}',
        {**JSON, "Content-Encoding": "gzip"},
        "unreadable answer: DecodingError",
    ),
    "truncated gzip": (
        gzip.compress(b'{"ok": true, "ts": "1.2"}')[:24],  # inflates to half the JSON
        {**JSON, "Content-Encoding": "gzip"},
        "answer is not JSON",
    ),
    "JSON nested 100,000 deep": (
        b"[" * 100_000 + b"]" * 100_000,
        JSON,
        "answer is JSON nested too deep",
    ),
    "object nested 100,000 deep": (
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        JSON,
        "answer is JSON nested too deep",
    ),
    "not JSON": (b"<html>gateway</html>", {"Content-Type": "text/html"}, "answer is not JSON"),
    "invalid UTF-8": (b'{"ok": true, "ts": "\xff\xfe"}', JSON, "answer is not JSON"),
    "a JSON array": (b"[1, 2, 3]", JSON, "answer is not a JSON object"),
    "JSON null": (b"null", JSON, "answer is not a JSON object"),
}


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

    def make(**overrides: Any) -> OutboxSender:
        options: dict[str, Any] = dict(
            base_url=slack.api_url,
            token=TOKEN,
            replica_id="r1",
            channel_pace=0.05,
            lease_seconds=5.0,
            timeout=1.0,
            max_attempts=BUDGET,
            backoff_base=0.02,
            backoff_max=0.1,
        )
        options.update(overrides)
        sender = OutboxSender(db_engine, **options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.aclose()


def _metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("fault", list(GARBAGE))
async def test_an_answer_that_cannot_be_read_is_an_attempt_and_ends_dead_after_the_budget(
    fault: str,
    outbox: Outbox,
    db_engine: Engine,
    slack: FakeSlack,
    make_sender: Callable[..., OutboxSender],
) -> None:
    body, headers, error = GARBAGE[fault]
    doomed = post(outbox, "C_FAULT", "doomed")
    after = post(outbox, "C_FAULT", "after")
    slack.answer_raw_next("chat.postMessage", body, headers=headers, times=BUDGET)
    dead_before = _metric("switchboard_outbox_dead_total", {"reason": "attempts"})

    await run_until_settled(db_engine, [make_sender()], [doomed, after])

    row = outbox.status(doomed)
    assert (row.status, row.attempts) == ("dead", BUDGET)
    assert row.last_error == f"{error} (after {BUDGET} attempts)"
    assert (row.lease_owner, row.lease_until) == (None, None)
    assert len(slack.calls_to("chat.postMessage", include_failed=True)) == BUDGET + 1
    assert texts(slack, "C_FAULT") == ["after"]  # the channel moved on
    assert _metric("switchboard_outbox_dead_total", {"reason": "attempts"}) == dead_before + 1


async def test_one_unreadable_answer_is_retried_and_the_message_delivered_once(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    msg = post(outbox, "C_FAULT", "second time lucky")
    body, headers, _ = GARBAGE["gzip that is not gzip"]
    slack.answer_raw_next("chat.postMessage", body, headers=headers)
    await run_until_settled(db_engine, [make_sender()], [msg])
    row = outbox.status(msg)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert texts(slack, "C_FAULT") == ["second time lucky"]


async def test_an_accepted_post_with_an_unstorable_ts_is_sent_once_and_its_reply_says_why(
    outbox: Outbox, db_engine: Engine, slack: FakeSlack, make_sender: Callable[..., OutboxSender]
) -> None:
    root = post(outbox, "C_TS", "root")
    reply = post(outbox, "C_TS", "reply", parent_id=root)
    odd = json.dumps({"ok": True, "ts": "9" * 5000, "channel": {"id": "C_TS"}}).encode()
    slack.answer_raw_next("chat.postMessage", odd, headers=JSON)
    await run_until_settled(db_engine, [make_sender()], [root, reply])
    assert outbox.status(root).status == "sent"  # Slack took it: never posted again
    assert outbox.status(root).result_ts is None
    assert outbox.status(reply).status == "dead"
    assert "has no ts" in (outbox.status(reply).last_error or "")
    assert len(slack.calls_to("chat.postMessage", include_failed=True)) == 1


RETRY_AFTERS = ["nan", "inf", "-5", "1e309", "", "soon", "1_0"]


@pytest.mark.parametrize("value", RETRY_AFTERS)
async def test_a_429_with_a_nonsense_retry_after_waits_the_default_and_delivers(
    value: str,
    outbox: Outbox,
    db_engine: Engine,
    slack: FakeSlack,
    make_sender: Callable[..., OutboxSender],
) -> None:
    msg = post(outbox, "C_RA", "rate limited")
    slack.answer_raw_next(
        "chat.postMessage",
        b'{"ok": false, "error": "ratelimited"}',
        status=429,
        headers={**JSON, "Retry-After": value},
    )
    sender = make_sender()
    assert await sender.drain_once() == 0
    row = outbox.status(msg)
    assert (row.status, row.lease_owner, row.attempts) == ("pending", None, 0)  # not stuck
    with db_engine.connect() as conn:
        pace = conn.execute(
            select(ChannelPace.not_before).where(ChannelPace.channel == "C_RA")
        ).scalar_one()
    assert math.isfinite(pace)
    await run_until_settled(db_engine, [sender], [msg])
    assert outbox.status(msg).status == "sent"
    assert texts(slack, "C_RA") == ["rate limited"]


def test_retry_after_is_seconds_or_an_http_date_bounded_and_finite() -> None:
    now = 1_800_000_000.0
    in_90s = format_datetime(datetime.fromtimestamp(now + 90, UTC), usegmt=True)
    an_hour_ago = format_datetime(datetime.fromtimestamp(now - 3600, UTC), usegmt=True)
    assert retry_after_seconds("30", now=now) == 30.0
    assert retry_after_seconds(" 2.5 ", now=now) == 2.5
    assert retry_after_seconds(in_90s, now=now) == 90.0
    assert retry_after_seconds(an_hour_ago, now=now) == 0.0  # already past: go now
    assert retry_after_seconds("86400000", now=now) == MAX_RETRY_AFTER
    nonsense_values = (None, "nan", "inf", "-inf", "1e309", "-5", "1_0", "", "soon", "9" * 4000)
    for nonsense in (*nonsense_values, "Fri, 99 Foo 2026", "Tue, 15 Nov 1994 08:12:31"):
        assert retry_after_seconds(nonsense, now=now) == DEFAULT_RETRY_AFTER, nonsense


async def test_an_outcome_that_cannot_be_recorded_counts_as_an_attempt_and_ends_dead(
    outbox: Outbox,
    db_engine: Engine,
    slack: FakeSlack,
    make_sender: Callable[..., OutboxSender],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doomed = post(outbox, "C_REC", "accepted but never recorded")
    after = post(outbox, "C_REC", "after")
    real_record_sent = queue.record_sent

    def record_sent(engine: Engine, head: queue.Head, **kwargs: Any) -> bool:
        if head.id == doomed:  # e.g. a value the database refuses, every time
            raise RuntimeError("cannot store this answer")
        return real_record_sent(engine, head, **kwargs)

    monkeypatch.setattr(queue, "record_sent", record_sent)
    await run_until_settled(db_engine, [make_sender()], [doomed, after])
    row = outbox.status(doomed)
    assert (row.status, row.attempts) == ("dead", BUDGET)
    assert row.last_error == f"internal: RuntimeError (after {BUDGET} attempts)"
    # Bounded: posted once per attempt (at-least-once), not again after every lease.
    assert texts(slack, "C_REC") == ["accepted but never recorded"] * BUDGET + ["after"]
