"""500 digests due at the same minute over the demo company: build time of the fan-out against
building them one by one, and delivery time against the bound Slack's rate limits set.

`uv run python -m bench.digests [--digests 500] [--channels 25]`

1. Build. The demo company (ops.example.yml) with `--digests` digests of varied teams and
   sections, all due Monday 09:00. One by one: `compose_digest` for each in turn, each at the
   moment it is built, as separate jobs without the fan-out would. Fan-out: the scheduler's
   path, `DigestPoster.run_many` at the slot (claims each slot in the database, composes
   concurrently with at most BUILD_CONCURRENCY at once, each (section, team) board once for
   the slot, queues root and thread in the outbox). Each mode starts with the sources' cache
   emptied; source loads (distinct questions fetched) are counted for both.
2. Delivery. The queued posts go to the fake Slack with its rate limits on (chat.postMessage
   about 1 per second per channel, answered 429 + Retry-After beyond it) through the outbox
   sender at Slack's pace. The lower bound: a channel with n posts needs (n - 1) s; all
   channels in parallel. Every post is checked to have arrived once, in queue order.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select

from bot.digests.compose import compose_digest
from bot.digests.posting import BUILD_CONCURRENCY, DigestPoster
from bot.ops_config import OpsConfig
from bot.ops_config.digests import Digest
from bot.ops_config.example import example_config
from bot.outbox import OutboxSender
from bot.sandbox.slack_api.ratelimits import RateLimits
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.db import upgrade
from bot.store.models import OutboxMessage
from integrations import cache
from tests.fakeslack import FakeSlack

SLOT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 Europe/Berlin
SECTION_SETS = (
    ["pipelines", "models", "spend", "budgets", "approvals", "incidents"],
    ["models", "pipelines", "incidents"],
    ["spend", "budgets", "approvals"],
    ["pipelines", "incidents"],
    ["spend", "models"],
)
TEAM_SETS: tuple[list[str] | None, ...] = (
    None,
    ["data-eng"],
    ["ml-platform"],
    ["analytics"],
    ["finance"],
    ["ml-platform", "data-eng"],
)


def bench_digests(count: int, channels: int) -> list[Digest]:
    return [
        Digest.model_validate(
            {
                "name": f"bench-{i:03d}",
                "channel": f"C0BENCH{i % channels:03d}",
                "schedule": "0 9 * * MON",
                "timezone": "Europe/Berlin",
                "teams": TEAM_SETS[i % len(TEAM_SETS)],
                "sections": SECTION_SETS[(i // len(TEAM_SETS)) % len(SECTION_SETS)],
                # Every run posts in full, also the next Monday's when nothing changed.
                "when_quiet": "full",
            }
        )
        for i in range(count)
    ]


class Loads:
    """Counts what the sources' caches load (each load is one fetch from a source)."""

    def __init__(self) -> None:
        self.count = 0
        original = cache.TTLCache._load

        async def counted(self_: Any, key: Any, loader: Any, generation: int) -> Any:
            if not isinstance(key, tuple) or key[:1] not in SECTION_KEYS:
                self.count += 1
            return await original(self_, key, loader, generation)

        cache.TTLCache._load = counted  # type: ignore[method-assign]


SECTION_KEYS = {(s,) for s in ("pipelines", "models", "spend", "budgets", "approvals", "incidents")}


def empty_source_caches() -> None:
    for obj in gc.get_objects():
        if isinstance(obj, cache.CachedSource):
            obj.cache.clear()


def services_for(db: str, config: OpsConfig) -> Services:
    with example_config() as path:
        services = build_services(Settings(_env_file=None, database_url=db), config_path=path)  # type: ignore[call-arg]
    return Services(
        settings=services.settings,
        engine=services.engine,
        clock=lambda: SLOT,
        outbox=services.outbox,
        ops_config=config,
        sources=services.sources,
        budgets=services.budgets,
        approvals=services.approvals,
    )


async def build_one_by_one(services: Services, digests: list[Digest]) -> float:
    started = time.perf_counter()
    for digest in digests:
        # As a job of its own would: composed at the moment it runs.
        now = SLOT + timedelta(seconds=time.perf_counter() - started)
        await compose_digest(services, digest, now=now, previous=None)
    return time.perf_counter() - started


async def scheduled_one_by_one(
    poster: DigestPoster, digests: list[Digest], slot: datetime
) -> float:
    started = time.perf_counter()
    for digest in digests:
        result = await poster.run_due(digest.name, now=slot + timedelta(seconds=2))
        assert result.outcome.value == "posted", result
    return time.perf_counter() - started


async def build_fan_out(poster: DigestPoster, digests: list[Digest]) -> float:
    started = time.perf_counter()
    results = await poster.run_many([d.name for d in digests], now=SLOT + timedelta(seconds=2))
    elapsed = time.perf_counter() - started
    outcomes = Counter(r.outcome.value for r in results)
    assert outcomes == {"posted": len(digests)}, outcomes
    return elapsed


def queued(services: Services) -> dict[str, list[int]]:
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.channel, OutboxMessage.id).order_by(OutboxMessage.id)
        )
        by_channel: dict[str, list[int]] = {}
        for channel, msg_id in rows:
            by_channel.setdefault(channel, []).append(msg_id)
    return by_channel


async def deliver(
    services: Services, slack: FakeSlack, expected: int, concurrency: int
) -> tuple[float, float]:
    sender = OutboxSender(
        services.engine,
        base_url=slack.api_url,
        token="xoxb-bench",
        replica_id="bench",
        channel_pace=1.0,
        concurrency=concurrency,
    )
    stop = asyncio.Event()
    started = time.time()
    task = asyncio.create_task(sender.run(stop, poll_interval=1.0))
    while True:
        await asyncio.sleep(0.1)
        with services.engine.connect() as conn:
            pending = conn.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            ).scalar_one()
        if pending == 0:
            break
    stop.set()
    await task
    await sender.aclose()
    with services.engine.connect() as conn:
        last = conn.execute(select(func.max(OutboxMessage.sent_at))).scalar_one()
        sent = conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        ).scalar_one()
    assert sent == expected, (sent, expected)
    return started, last - started


def check_order(services: Services, slack: FakeSlack, plan: dict[str, list[int]]) -> None:
    """Every message arrived once, in queue order per channel (chart uploads, which carry no
    text of their own, are checked by count)."""
    with services.engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.id, OutboxMessage.method, OutboxMessage.payload))
        queued_rows = {i: (method, payload) for i, method, payload in rows.all()}
    for channel, ids in plan.items():
        arrived = slack.messages(channel)
        got = [m["text"] for m in arrived if not m.get("files")]
        want = [
            json.loads(queued_rows[i][1])["text"]
            for i in ids
            if queued_rows[i][0] == "chat.postMessage"
        ]
        assert got == want, f"{channel}: order or count differs"
        uploads = sum(1 for i in ids if queued_rows[i][0] != "chat.postMessage")
        assert sum(1 for m in arrived if m.get("files")) == uploads, f"{channel}: charts differ"


async def main_async(args: argparse.Namespace) -> None:
    loads = Loads()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{os.path.join(tmp, 'bench.db')}"
        upgrade(db)
        with example_config() as path:
            from bot.ops_config import load_ops_config

            base = load_ops_config(path)
        digests = bench_digests(args.digests, args.channels)
        config = base.model_copy(update={"digests": digests})
        services = services_for(db, config)
        # Warm-up (not timed): the demo company's files and DuckDB's first queries.
        await compose_digest(services, digests[0], now=SLOT, previous=None)

        empty_source_caches()
        loads.count = 0
        poster = DigestPoster(services, replica_id="bench")
        cpu = time.process_time()
        fan_out = await build_fan_out(poster, digests)
        fan_out_cpu = time.process_time() - cpu
        fan_out_loads = loads.count

        empty_source_caches()
        loads.count = 0
        cpu = time.process_time()
        one_by_one = await build_one_by_one(services, digests)
        one_by_one_cpu = time.process_time() - cpu
        one_by_one_loads = loads.count

        plan = queued(services)
        per_channel = [len(ids) for ids in plan.values()]
        bound = max(per_channel) - 1.0  # 1 post per second per channel, the first at once
        with FakeSlack() as slack:
            limits = RateLimits()
            slack.rate_limits = limits
            _, delivery = await deliver(services, slack, sum(per_channel), args.sender_concurrency)
            check_order(services, slack, plan)

        # The scheduler's own path one digest at a time (claims, shared boards, outbox), the
        # next Monday: how much of the gain is concurrency rather than sharing.
        empty_source_caches()
        loads.count = 0
        path_one_by_one = await scheduled_one_by_one(poster, digests, SLOT + timedelta(days=7))
        path_loads = loads.count

    print(
        f"digests: {len(digests)} due at once, {len(plan)} channels, concurrency {BUILD_CONCURRENCY}"
    )
    print(
        f"build one by one: {one_by_one:7.2f} s wall, {one_by_one_cpu:6.2f} s CPU "
        f"({one_by_one_loads} source fetches)"
    )
    print(
        f"build fan-out:    {fan_out:7.2f} s wall, {fan_out_cpu:6.2f} s CPU "
        f"({fan_out_loads} source fetches)"
    )
    print(
        f"build ratio one-by-one / fan-out: {one_by_one / fan_out:.1f}x wall, "
        f"{one_by_one_cpu / fan_out_cpu:.1f}x CPU (goal >= 5x)"
    )
    print(
        f"scheduler path one digest at a time (claims, shared boards, outbox): "
        f"{path_one_by_one:.2f} s ({path_loads} source fetches); fan-out is "
        f"{path_one_by_one / fan_out:.1f}x faster than it"
    )
    print(
        f"delivery: {sum(per_channel)} posts in {delivery:.2f} s; Slack's bound "
        f"{bound:.0f} s ({max(per_channel)} posts in the busiest channel at 1/s); "
        f"ratio {delivery / bound:.3f} (goal <= 1.1); 429s answered: {limits.limited}; "
        f"sender concurrency {args.sender_concurrency}"
    )
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu, Python "
        f"{platform.python_version()}, load average {load:.1f} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digests", type=int, default=500)
    parser.add_argument("--channels", type=int, default=25)
    parser.add_argument(
        "--sender-concurrency", type=int, default=8, help="channels the outbox sends to at once"
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
