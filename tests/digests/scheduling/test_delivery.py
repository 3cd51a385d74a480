"""A digest reaches Slack through the outbox: root, thread replies and chart in order, 429s losing
and reordering nothing, and a channel Slack refuses told once to the digest's owners."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.answers.deps import AnswerDeps
from bot.answers.digests import digest_plans
from bot.digests.problems import channel_problems, check_channels, owners
from bot.outbox import OutboxSender
from bot.sandbox.slack_api import wire
from bot.store.models import OutboxMessage
from bot.views.digests import render_digest_list
from tests.digests.scheduling.conftest import PNG, Composer, config_with, digest, poster_for
from tests.fakeslack import FakeSlack

NOW = datetime(2026, 6, 1, 9, 0, 10, tzinfo=UTC)


@pytest.fixture
def slack():  # type: ignore[no-untyped-def]
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def sender(db_engine: Engine, slack: FakeSlack) -> AsyncIterator[OutboxSender]:
    made = OutboxSender(
        db_engine,
        base_url=slack.api_url,
        token="xoxb-digest",
        replica_id="sender",
        channel_pace=0.02,
        lease_seconds=5.0,
        timeout=2.0,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    yield made
    await made.aclose()


async def drain(sender: OutboxSender, rounds: int = 400) -> None:
    """Send until nothing is due (pacing and Retry-After waits included)."""
    import asyncio

    from bot.outbox import queue

    for _ in range(rounds):
        await sender.drain_once()
        scan = await asyncio.to_thread(queue.scan_heads, sender.engine, __import__("time").time())
        if scan.pending == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not empty")


async def test_root_replies_and_chart_land_in_one_thread_in_order(db_engine, slack, sender):
    composer = Composer(replies=3, chart=True)
    config = config_with(digest("weekly", "0 9 * * MON"))
    poster = poster_for(db_engine, config, composer)
    await poster.run_due("weekly", now=NOW)
    await drain(sender)
    top = [
        m for m in slack.messages("C0DIGEST") if not m.get("thread_ts") or m["ts"] == m["thread_ts"]
    ]
    assert len(top) == 1 and top[0]["text"] == "weekly at 2026-06-01 09:00"
    thread = slack.messages("C0DIGEST", thread_ts=top[0]["ts"])
    assert [m["text"] for m in thread[:3]] == [
        f"weekly at 2026-06-01 09:00: details {i} of 3" for i in (1, 2, 3)
    ]
    assert thread[3]["files"][0]["name"] == "weekly.png"
    (upload,) = [f for f in slack.files.values() if f["name"] == "weekly.png"]
    assert upload["content"] == PNG
    (ticket,) = slack.calls_to("files.getUploadURLExternal")
    assert ticket.params["alt_txt"] == "Spend by day"


async def test_injected_429s_lose_nothing_and_keep_each_channels_order(db_engine, slack, sender):
    names = [f"d{i}" for i in range(6)]
    digests = [
        digest(n, "0 9 * * MON").model_copy(update={"channel": f"C0CHAN{i % 2}"})
        for i, n in enumerate(names)
    ]
    composer = Composer(replies=2)
    poster = poster_for(db_engine, config_with(*digests), composer)
    results = await poster.run_many(names, now=NOW)
    assert all(r.root_outbox_id for r in results)
    slack.fail_next("chat.postMessage", 429, retry_after=1, times=5)
    await drain(sender)
    assert len(slack.calls_to("chat.postMessage", include_failed=True)) == 6 * 3 + 5
    for channel in ("C0CHAN0", "C0CHAN1"):
        posted = slack.messages(channel)
        # Exactly the queued order of the channel (roots and replies of digests built at once
        # may interleave in the queue), each message once.
        assert [m["text"] for m in posted] == queued_texts(db_engine, channel)
        assert len(posted) == 9
        for root in [m for m in posted if "details" not in m["text"]]:
            replies = slack.messages(channel, thread_ts=root["ts"])
            assert [m["text"] for m in replies] == [
                f"{root['text']}: details {i} of 2" for i in (1, 2)
            ]


def queued_texts(engine: Engine, channel: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.channel == channel)
            .order_by(OutboxMessage.id)
        ).all()
    return [json.loads(r[0])["text"] for r in rows]


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
async def test_a_refused_channel_is_told_to_the_owners_once_and_listed(
    db_engine, slack, sender, error
):
    config = config_with(
        digest("ml", "0 9 * * *", teams=["ml-platform"]).model_copy(update={"channel": "C0GONE"}),
        digest("ok", "0 9 * * *"),
    )
    {
        "not_in_channel": slack.outside_channels,
        "channel_not_found": slack.missing_channels,
        "is_archived": slack.archived_channels,
    }[error].add("C0GONE")
    for user in owners(config, config.digests[0]):
        slack.users[user] = wire.user(user, user.lower(), f"Owner {user}")
    poster = poster_for(db_engine, config, Composer(replies=1))
    await poster.run_many(["ml", "ok"], now=NOW)
    await drain(sender)
    assert len(slack.messages("C0DIGEST")) == 2  # the other digest went on
    assert check_channels(db_engine, config) == ["ml"]
    assert check_channels(db_engine, config) == []  # once
    # The next day's post is refused again: still no second message to the owners.
    await poster.run_due("ml", now=NOW.replace(day=2))
    await drain(sender)
    assert check_channels(db_engine, config) == []
    await drain(sender)
    people = owners(config, config.digests[0])
    assert people == config.teams["ml-platform"].people and people
    for user in people:
        dms = slack.messages(user)
        assert len(dms) == 1 and "<#C0GONE>" in dms[0]["text"]
        assert "`ml`" in dms[0]["text"]
    # Refused posts are not retried: one call each.
    refused = [
        c
        for c in slack.calls_to("chat.postMessage", include_failed=True)
        if c.params.get("channel") == "C0GONE"
    ]
    assert len(refused) == 2
    problems = channel_problems(db_engine)
    assert set(problems) == {"ml"} and problems["ml"].error == error
    listed = str(render_digest_list(digest_plans(deps_at(db_engine, config)), tz=UTC).blocks)
    assert listed.count("Last post refused") == 1 and "<#C0GONE>" in listed
    # Invited again: the next post goes through and the problem is gone.
    slack.outside_channels.clear(), slack.missing_channels.clear(), slack.archived_channels.clear()
    await poster.run_due("ml", now=NOW.replace(day=3))
    await drain(sender)
    check_channels(db_engine, config)
    assert channel_problems(db_engine) == {}
    listed = str(render_digest_list(digest_plans(deps_at(db_engine, config)), tz=UTC).blocks)
    assert "Last post refused" not in listed


def deps_at(engine: Engine, config) -> AnswerDeps:  # type: ignore[no-untyped-def]
    # The list reads only the configuration, the store and the time.
    return AnswerDeps(
        sources=None,  # type: ignore[arg-type]
        config=config,
        budgets=None,
        engine=engine,
        now=NOW,
        user_tz=ZoneInfo("UTC"),
        workspace_tz=ZoneInfo("UTC"),
    )
