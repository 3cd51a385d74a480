"""Two schedulers (replicas) on one database, the real PostgreSQL and SQLite: each slot is posted
once, whoever wins its claim, and the post reaches Slack once."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.digests.posting import Outcome
from bot.outbox import OutboxSender
from bot.store.db import make_engine
from scheduler.digest_jobs import CATCH_UP_JOB, register_digest_jobs
from tests.digests.scheduling.conftest import Composer, config_with, digest, poster_for, roots
from tests.fakeslack import FakeSlack


def test_two_replicas_racing_for_every_slot_post_each_once(db_url):
    config = config_with(digest("hourly", "0 * * * *", zone="Europe/Berlin"))
    composers = [Composer(), Composer()]
    engines = [make_engine(db_url), make_engine(db_url)]
    posters = [
        poster_for(engines[i], config, composers[i], replica=f"replica-{i}") for i in range(2)
    ]
    slots = [datetime(2026, 6, 1, 0, 0, 5, tzinfo=UTC) + timedelta(hours=h) for h in range(12)]
    barrier = threading.Barrier(2)
    outcomes: list[list[Outcome]] = [[], []]

    def replica(i: int) -> None:
        async def run() -> None:
            for now in slots:
                barrier.wait()  # both ask for the same slot at the same moment
                outcomes[i].append((await posters[i].run_due("hourly", now=now)).outcome)

        asyncio.run(run())

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for a, b in zip(*outcomes, strict=True):
            assert sorted([a, b]) == sorted([Outcome.posted, Outcome.elsewhere])
        assert len(composers[0].calls) + len(composers[1].calls) == 12  # built once per slot
        assert len(roots(engines[0], "hourly")) == 12
    finally:
        for engine in engines:
            engine.dispose()


async def test_two_started_schedulers_catch_up_a_missed_slot_and_slack_gets_one_post(db_url):
    # Every minute: the slot of this minute has just passed when the schedulers start.
    config = config_with(digest("minutely", "* * * * *", zone="UTC"))
    composers = [Composer(), Composer()]
    engines = [make_engine(db_url), make_engine(db_url)]
    schedulers = []
    with FakeSlack() as slack:
        try:
            for i in range(2):
                poster = poster_for(engines[i], config, composers[i], replica=f"replica-{i}")
                aps = AsyncIOScheduler(timezone="UTC")
                register_digest_jobs(
                    aps, poster.services, replica_id=f"replica-{i}", compose=composers[i]
                )
                assert CATCH_UP_JOB in {j.id for j in aps.get_jobs()}
                schedulers.append(aps)
            for aps in schedulers:
                aps.start()
            for _ in range(200):  # the catch-up runs at once on both
                if not any(aps.get_job(CATCH_UP_JOB) for aps in schedulers):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            built = len(composers[0].calls) + len(composers[1].calls)
            assert built >= 1
            sender = OutboxSender(
                engines[0],
                base_url=slack.api_url,
                token="xoxb-t",
                replica_id="s",
                channel_pace=0.01,
            )
            await sender.drain_once()
            await sender.aclose()
            posts = [
                c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "C0DIGEST"
            ]
            # A minute boundary may pass during the test: then that slot is a second, distinct post.
            assert len(posts) == built == len(roots(engines[0], "minutely"))
            slots = {
                c["now"].replace(second=0, microsecond=0)
                for c in composers[0].calls + composers[1].calls
            }
            assert len(slots) == built  # never two posts of one slot
        finally:
            for aps in schedulers:
                aps.shutdown(wait=False)
            for engine in engines:
                engine.dispose()
