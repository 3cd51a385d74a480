"""Answer benchmark: the cross-domain answers over sources that take real time, side by side.

Each source call of the demo company is delayed by `--latency` ms (a remote Airflow, MLflow,
Prometheus or cost API answers in tens of milliseconds). Measured, interleaved, `--reps` times:

1. `/ops status` through the router (one list + one bulk runs call per orchestrator, at once)
   against the sequential version a first implementation would write: list the pipelines,
   then ask each pipeline's recent runs one after another.
2. `/ops model churn` (versions, health, upstream runs and the cost of its training and feed
   pipelines through lineage: about 15 calls, fanned out) against the same calls awaited one
   after another.

Run from the repository root:  uv run python bench/answers.py [--latency 20] [--reps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog

from bot.commands.context import AskContext
from bot.ops_config import load_ops_config
from bot.router import build_router
from bot.services import Services, pinned_clock
from bot.settings import Settings
from bot.store.db import make_engine
from integrations.demo.company import DemoCompany
from integrations.hub import Sources
from integrations.models import SpendQuery
from integrations.pipeline_status import pipeline_status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONFIG = Path(__file__).resolve().parents[1] / "ops.example.yml"


class Slow:
    """The demo company, with every awaited call taking `latency` seconds more."""

    def __init__(self, inner: DemoCompany, latency: float) -> None:
        self.inner = inner
        self.latency = latency
        self.name = inner.name
        self.calls = 0

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not asyncio.iscoroutinefunction(target):
            return target

        async def delayed(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            await asyncio.sleep(self.latency)
            return await target(*args, **kwargs)

        return delayed


def services(slow: Slow) -> Services:
    cfg = load_ops_config(CONFIG)
    hub = Sources(pipelines=[slow], registries=[slow], metrics=[slow], costs=[slow], timeout=30)
    # The answers measured read no table: an empty in-memory database stands in for the store.
    return Services(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        engine=make_engine("sqlite://"),
        clock=pinned_clock(NOW),
        ops_config=cfg,
        sources=hub,
    )


async def ours(slow: Slow, text: str) -> str:
    reply = await build_router().answer(text, AskContext(services=services(slow), now=NOW))
    return reply.text


async def sequential_status(slow: Slow) -> str:
    pipelines = await slow.list_pipelines()
    statuses = []
    for pipeline in pipelines:
        runs = await slow.recent_runs(pipeline.name, limit=20)
        statuses.append(pipeline_status(pipeline, runs, now=NOW))
    failing = [s for s in statuses if s.last_run and s.last_run.state == "failed"]
    return f"{len(failing)} failing of {len(statuses)}"


async def sequential_model(slow: Slow, cfg: Any) -> str:
    model = await slow.get_model("churn")
    versions = await slow.versions("churn")
    health = await slow.model_health("churn")
    month = SpendQuery(start=date(2026, 11, 1), end=date(2026, 11, 24))
    last30 = SpendQuery(start=date(2026, 10, 25), end=date(2026, 11, 24))
    total = 0.0
    for pipeline in cfg.pipelines_feeding("churn"):
        await slow.recent_runs(pipeline, limit=5)
        for period in (month, last30):
            spend = await slow.spend(period.model_copy(update={"pipeline": pipeline}))
            total += float(sum(spend.totals.values()))
    for period in (month, last30):
        spend = await slow.spend(period.model_copy(update={"model": "churn"}))
        total += float(sum(spend.totals.values()))
    return f"{model.name if model else '?'} {len(versions)} versions {health.healthy} {total:.0f}"


async def compare(name: str, ours_call, baseline_call, latency: float, reps: int) -> None:  # type: ignore[no-untyped-def]
    warm = DemoCompany(42, now=NOW, timezone="Europe/Berlin")
    await ours_call(Slow(warm, 0))  # builds the demo's runs and FOCUS files once
    await baseline_call(Slow(warm, 0))
    mine: list[float] = []
    base: list[float] = []
    calls = {"ours": 0, "sequential": 0}
    for _ in range(reps):
        for label, call, out in (("ours", ours_call, mine), ("sequential", baseline_call, base)):
            slow = Slow(warm, latency)
            started = time.perf_counter()
            await call(slow)
            out.append((time.perf_counter() - started) * 1000)
            calls[label] = slow.calls
    a, b = statistics.median(mine), statistics.median(base)
    print(
        f"{name:<22} ours {a:8.1f} ms ({calls['ours']} calls)   "
        f"sequential {b:8.1f} ms ({calls['sequential']} calls)   ratio ours/sequential {a / b:.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=20.0, help="ms added to every call")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    latency = args.latency / 1000
    cfg = load_ops_config(CONFIG)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; every source call +{args.latency:.0f} ms"
    )
    await compare(
        "/ops status", lambda s: ours(s, "/ops status"), sequential_status, latency, args.reps
    )
    await compare(
        "/ops model churn",
        lambda s: ours(s, "/ops model churn"),
        lambda s: sequential_model(s, cfg),
        latency,
        args.reps,
    )


if __name__ == "__main__":
    asyncio.run(main())
