"""Approval decisions benchmark: what exactly-once costs, side by side on the same database.

Every click goes through `ApprovalService.decide` (row lock, the vote under its unique key,
quorum, the state change with its audit record and card notice, all in one transaction), each
decision sent twice at once (a double click, or a Slack retry racing the first delivery), by
`--workers` replicas with their own engines. The baseline is what a first implementation
writes: one `INSERT ... ON CONFLICT DO NOTHING` of the vote per click, no lock, no audit, no
notice, no quorum check. The script checks the engine's promises after its run (one vote per
approver, every request approved exactly once) and prints clicks per second of both and the
ratio. Interleaved rounds on one fresh PostgreSQL database (or `--sqlite`).

Run from the repository root:  uv run python bench/approvals.py [--requests 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from bot.approvals.models import ApprovalVote
from bot.approvals.service import ApprovalService
from bot.approvals.store import REQUEST
from bot.approvals.types import RequestSnapshot, RequestState
from bot.ops_config import load_ops_config
from bot.store.db import make_engine, upgrade

CONFIG = Path(__file__).resolve().parents[1] / "ops.example.yml"
PG = os.environ.get("SWITCHBOARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUESTER = "U0DE0ANNA"
APPROVERS = ("U0ML0FARID", "U0ML0GRETA")  # champion of an ml-platform model needs two
VOTE = ApprovalVote.__table__  # type: ignore[attr-defined]


class NoExecutor:
    async def set_alias(self, **_: Any) -> str:
        return "not executed in this benchmark"

    async def raise_budget(self, **_: Any) -> str:
        return "not executed in this benchmark"


def open_requests(service: ApprovalService, count: int, tag: str) -> list[int]:
    async def make() -> list[int]:
        ids = []
        for i in range(count):
            made = await service.request_promotion(
                requester=REQUESTER,
                model=f"bench-{tag}-{i}",
                version="2",
                alias="champion",
                reason=None,
                surface="bench",
            )
            assert isinstance(made, RequestSnapshot), made
            ids.append(made.id)
        return ids

    return asyncio.run(make())


def in_parallel(
    url: str,
    workers: int,
    work: Callable[[Engine, list[tuple[int, str]]], None],
    clicks: list[tuple[int, str]],
) -> float:
    """Split `clicks` over `workers` threads, each with its own engine; seconds taken."""
    shares = [clicks[i::workers] for i in range(workers)]
    barrier = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def run(share: list[tuple[int, str]]) -> None:
        engine = make_engine(url)
        try:
            barrier.wait()
            work(engine, share)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def engine_clicks(config: Any) -> Callable[[Engine, list[tuple[int, str]]], None]:
    def work(engine: Engine, share: list[tuple[int, str]]) -> None:
        service = ApprovalService(engine=engine, config=config, executor=NoExecutor())

        async def click_all() -> None:
            for request_id, user in share:
                await service.decide(request_id=request_id, user=user, approve=True, surface="dm")

        asyncio.run(click_all())

    return work


def bare_clicks(engine: Engine, share: list[tuple[int, str]]) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    for request_id, user in share:
        with engine.begin() as conn:
            conn.execute(
                dialect.insert(VOTE)
                .values(
                    request_id=request_id,
                    user=user,
                    approve=True,
                    at=time.time(),
                    surface="dm",
                    groups="[]",
                )
                .on_conflict_do_nothing()
            )


def schedule(ids: list[int]) -> list[tuple[int, str]]:
    """Each approver's click on each request, each twice (double click / Slack retry)."""
    return [(i, user) for i in ids for user in APPROVERS for _ in range(2)]


def check(engine: Engine, ids: list[int]) -> None:
    with engine.connect() as conn:
        votes = conn.execute(
            select(func.count()).select_from(VOTE).where(VOTE.c.request_id.in_(ids))
        ).scalar_one()
        approved = conn.execute(
            select(func.count())
            .select_from(REQUEST)
            .where(REQUEST.c.id.in_(ids), REQUEST.c.state == RequestState.approved.value)
        ).scalar_one()
    assert votes == 2 * len(ids), f"{votes} votes for {len(ids)} requests (2 each expected)"
    assert approved == len(ids), f"{approved} of {len(ids)} requests approved"


def fresh_database(use_sqlite: bool, scratch: Path) -> tuple[str, Callable[[], None]]:
    if use_sqlite:
        return f"sqlite:///{scratch / f'bench-{uuid.uuid4().hex[:8]}.db'}", lambda: None
    name = f"sb_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--workers", type=int, default=4, help="replicas clicking at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    scratch = Path(__file__).parent / "out"
    scratch.mkdir(exist_ok=True)
    url, drop = fresh_database(args.sqlite, scratch)
    config = load_ops_config(CONFIG)
    try:
        upgrade(url)
        engine = make_engine(url)
        setup = ApprovalService(engine=engine, config=config, executor=NoExecutor())
        ours: list[float] = []
        bare: list[float] = []
        for round_ in range(args.rounds):
            ids = open_requests(setup, args.requests, f"e{round_}")
            clicks = schedule(ids)
            ours.append(len(clicks) / in_parallel(url, args.workers, engine_clicks(config), clicks))
            check(engine, ids)
            base_ids = open_requests(setup, args.requests, f"b{round_}")
            base = schedule(base_ids)
            bare.append(len(base) / in_parallel(url, args.workers, bare_clicks, base))
        engine.dispose()
    finally:
        drop()

    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"{database}, {args.workers} replicas, {args.requests} requests x 2 approvers x 2 clicks, "
        f"{args.rounds} rounds"
    )
    print(f"  engine decide():           {statistics.median(ours):8.0f} clicks/s  {ours}")
    print(f"  bare vote INSERT baseline: {statistics.median(bare):8.0f} clicks/s  {bare}")
    print(f"  ratio engine / bare: {statistics.median(ours) / statistics.median(bare):.2f}")
    print(
        f"  promises held: every request approved once, one vote per approver "
        f"({platform.python_version()}, {os.cpu_count()} cpus)"
    )


if __name__ == "__main__":
    main()
