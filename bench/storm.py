"""Alert storm: N alerts in S seconds over F fingerprints into the running app, against a bare
FastAPI endpoint that only inserts the raw payload (same database, same run).

    uv run python -m bench.storm [--alerts 10000] [--seconds 60] [--fingerprints 200]

What it does:
1. A fresh PostgreSQL database (`--pg`, default the local test server) or SQLite (`--sqlite`).
2. The fake Slack Web API (tests/fakeslack) with `--ratelimits` 429 answers injected; the app
   (`create_app`, ops.example.yml: coalesce 30 s, its scheduler, flush job and outbox sender)
   and the bare endpoint, each served by uvicorn in this process.
3. Open loop at alerts/seconds per second: each request one Alertmanager v4 alert, fingerprint
   `n % F`, each a new firing (its own startsAt) so every alert changes its incident. The same
   schedule then goes to the bare endpoint. Latency is measured per request.
4. After the storm, waits until every incident is flushed and the outbox is empty, then counts
   the Slack calls (chat.postMessage + chat.update accepted by the fake) against the minimum:
   one root + one update per fingerprint per coalescing interval of the storm. Lost alerts are
   accepted ones not counted in any incident; duplicate roots are top-level posts beyond one
   per incident.

The outbox's channel pace is `--pace` (default 0.05 s; Slack's is about 1 s, which only makes
the drain longer: the number of calls does not depend on it).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, func, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import create_app  # noqa: E402
from bot.logging import configure_logging  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import make_engine, upgrade  # noqa: E402
from bot.store.models import Incident, OutboxMessage  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402

TOKEN = "storm-bench-token"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEAMS = ("data-eng", "analytics", "ml-platform")
RETRIES = 5
RAW = MetaData()
STORM_RAW = Table("storm_raw", RAW, Column("id", Integer, primary_key=True), Column("body", Text))


class Server:
    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_app(url: str) -> FastAPI:
    """The baseline: authenticate nothing, parse nothing, insert the body, answer 200."""
    engine = (
        create_engine(url, pool_size=16, max_overflow=16)
        if "postgresql" in url
        else create_engine(url)
    )
    RAW.create_all(engine)
    app = FastAPI()

    @app.post("/webhooks/raw")
    async def insert(request: Request) -> JSONResponse:
        body = (await request.body()).decode()

        def store() -> None:
            with engine.begin() as conn:
                conn.execute(STORM_RAW.insert().values(body=body))

        await asyncio.to_thread(store)
        return JSONResponse({"status": "accepted"})

    return app


def alert_payload(n: int, fingerprints: int, start: datetime) -> dict[str, Any]:
    fp = n % fingerprints
    alert = {
        "status": "firing",
        "labels": {
            "alertname": f"Storm{fp}",
            "team": TEAMS[fp % len(TEAMS)],
            "severity": "warning",
        },
        "annotations": {"summary": f"storm alert {fp}"},
        "startsAt": (start + timedelta(milliseconds=n)).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"storm-{fp:04d}",
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Storm{fp}"}}',
        "truncatedAlerts": 0,
        "alerts": [alert],
    }


async def open_loop(
    url: str, bodies: list[dict[str, Any]], seconds: float, concurrency: int
) -> tuple[list[float], int, float]:
    """Send `bodies` evenly over `seconds`; (latencies in s, non-2xx count, elapsed)."""
    latencies: list[float] = []
    failed = 0
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        began = time.perf_counter()

        async def one(i: int, body: dict[str, Any]) -> None:
            nonlocal failed
            due = began + i * seconds / len(bodies)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            async with gate:
                sent = time.perf_counter()
                for _attempt in range(RETRIES):  # a sender retries as Alertmanager does
                    try:
                        answer = await http.post(
                            url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}
                        )
                    except httpx.TransportError:
                        continue
                    if answer.status_code == 200:
                        latencies.append(time.perf_counter() - sent)
                        return
                failed += 1

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
        return latencies, failed, time.perf_counter() - began


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fresh_database(args: argparse.Namespace) -> tuple[str, Any]:
    if args.sqlite:
        path = Path(tempfile.gettempdir()) / f"storm-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    name = f"storm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    return args.pg.rsplit("/", 1)[0] + f"/{name}", drop


def settled(engine: Any) -> bool:
    with engine.connect() as conn:
        dirty = conn.execute(
            select(func.count()).select_from(Incident).where(Incident.dirty.is_(True))
        ).scalar_one()  # type: ignore[attr-defined]
        pending = conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        ).scalar_one()
    return dirty == 0 and pending == 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fingerprints", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pace", type=float, default=0.05)
    parser.add_argument("--ratelimits", type=int, default=20, help="429s injected at the start")
    parser.add_argument("--pg", default=os.environ.get("SWITCHBOARD_TEST_PG", PG_ADMIN))
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    os.environ["ALERTMANAGER_WEBHOOK_TOKEN"] = TOKEN
    url, drop = fresh_database(args)
    try:
        upgrade(url)
        with FakeSlack() as slack:
            settings = Settings.model_validate(
                {
                    "slack_bot_token": "xoxb-storm",
                    "slack_signing_secret": "storm-signing",
                    "slack_api_url": slack.api_url,
                    "database_url": url,
                    "switchboard_config": REPO / "ops.example.yml",
                    "switchboard_outbox_interval": 0.5,
                    "switchboard_channel_pace": args.pace,
                }
            )
            app = create_app(settings)
            coalesce = app.state.services.ops_config.incidents.coalesce.total_seconds()
            ports = free_port(), free_port()
            slack.fail_next("*", 429, retry_after=1, times=args.ratelimits)
            start = datetime.now(UTC) - timedelta(hours=1)
            bodies = [alert_payload(n, args.fingerprints, start) for n in range(args.alerts)]
            with Server(app, ports[0]), Server(bare_app(url), ports[1]):
                sw_lat, sw_failed, sw_elapsed = asyncio.run(
                    open_loop(
                        f"http://127.0.0.1:{ports[0]}/webhooks/alertmanager",
                        bodies,
                        args.seconds,
                        args.concurrency,
                    )
                )
                storm_end = time.monotonic()
                bare_lat, bare_failed, bare_elapsed = asyncio.run(
                    open_loop(
                        f"http://127.0.0.1:{ports[1]}/webhooks/raw",
                        bodies,
                        args.seconds,
                        args.concurrency,
                    )
                )
                engine = make_engine(url)
                deadline = time.monotonic() + max(600.0, 3 * coalesce)
                # the last changes are flushed one coalescing interval after the storm
                while time.monotonic() < storm_end + coalesce + 1 or not settled(engine):
                    if time.monotonic() > deadline:
                        print("did not settle in time", file=sys.stderr)
                        break
                    time.sleep(1)
                with engine.connect() as conn:
                    incidents = conn.execute(
                        select(Incident.fingerprint, Incident.alert_count)
                    ).all()
                    raw_rows = conn.execute(
                        select(func.count()).select_from(STORM_RAW)
                    ).scalar_one()
                engine.dispose()
            ok = [
                c for c in slack.calls if c.ok and c.method in ("chat.postMessage", "chat.update")
            ]
            refused = [
                c
                for c in slack.calls
                if not c.ok and c.method in ("chat.postMessage", "chat.update")
            ]
            roots = [
                c for c in ok if c.method == "chat.postMessage" and not c.params.get("thread_ts")
            ]
            updates = [c for c in ok if c.method == "chat.update"]
            replies = [
                c for c in ok if c.method == "chat.postMessage" and c.params.get("thread_ts")
            ]
    finally:
        drop()
    accepted = args.alerts - sw_failed
    counted = sum(count for _, count in incidents)
    # the storm lasted as long as the app took to accept it (longer than asked when it fell
    # behind): the minimum counts the coalescing intervals it really spanned
    lasted = max(args.seconds, sw_elapsed)
    intervals = math.ceil(lasted / coalesce)
    minimum = args.fingerprints * (1 + intervals)
    sw_rate, bare_rate = len(sw_lat) / sw_elapsed, len(bare_lat) / bare_elapsed
    db = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"database: {db}; {args.alerts} alerts in {args.seconds:g} s over "
        f"{args.fingerprints} fingerprints, concurrency {args.concurrency}; the storm took "
        f"{sw_elapsed:.0f} s to deliver to the app, {bare_elapsed:.0f} s to the bare endpoint"
    )
    print(f"{'endpoint':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    for name, lat, rate, failed in (
        ("switchboard alertmanager", sw_lat, sw_rate, sw_failed),
        ("bare insert", bare_lat, bare_rate, bare_failed),
    ):
        p50, p99 = statistics.median(lat) * 1000, pct(lat, 0.99) * 1000
        print(f"{name:<28}{rate:>9.1f}{p50:>9.1f}{p99:>9.1f}{failed:>8}")
    p99_ratio = pct(sw_lat, 0.99) / pct(bare_lat, 0.99)
    print(
        f"p99 ratio switchboard / bare: {p99_ratio:.2f}; throughput ratio: "
        f"{sw_rate / bare_rate:.2f} (bare rows stored: {raw_rows})"
    )
    print(
        f"incidents: {len(incidents)}; alerts accepted {accepted}, counted in incidents "
        f"{counted}, lost {accepted - counted}"
    )
    print(
        f"slack calls: {len(roots)} roots, {len(updates)} updates, {len(replies)} replies = "
        f"{len(ok)} (429/failed answers retried: {len(refused)})"
    )
    print(
        f"minimum: {args.fingerprints} roots + {args.fingerprints} x {intervals} updates = "
        f"{minimum}; ratio {len(ok) / minimum:.2f} (goal <= 1.2)"
    )
    print(f"duplicate roots: {len(roots) - len(incidents)}")
    print(f"machine: nproc {os.cpu_count()}, Python {platform.python_version()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
