"""Spend benchmark: `/ops spend team:X 30d by service` on 10 million FOCUS rows, side by side.

1. Switchboard's path (FocusCostSource.spend with SpendQuery(team=X, last 30 days,
   group_by=service): lines, totals, daily series and row count in one answer) against the
   same aggregation as hand-written DuckDB SQL, interleaved, several repetitions each.
   Targets: at most 1.3x the raw SQL, and under 1 s.
2. An answer that needs 4 sources, each taking 300 ms: the hub's concurrent fan-out
   (integrations.hub) against awaiting them one after another. Target: about 300 ms, not 1.2 s.

Run from the repository root:  uv run python bench/spend.py [--rows 10000000] [--reps 9]
The FOCUS file is generated once with DuckDB itself and cached under bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import structlog

from integrations.focus import FocusCostSource
from integrations.hub import Sources, gather_partial
from integrations.models import ProbeResult, SpendDimension, SpendQuery, SpendSummary

OUT = Path(__file__).resolve().parent / "out"
END = date(2025, 6, 30)  # last day in the file; "30d" means the 30 days ending here
DAYS = 90
TEAM = "ml-platform"
ALLOCATION = {
    "cost_center": {"CC-1001": "data-eng", "CC-2001": "ml-platform", "CC-3001": "analytics"}
}

SERVICES = [
    "Amazon EC2",
    "Amazon S3",
    "Amazon SageMaker",
    "AWS Glue",
    "Amazon EMR",
    "Amazon Redshift",
    "Amazon Kinesis",
    "Amazon CloudWatch",
    "AWS Lambda",
    "Amazon Athena",
    "Google BigQuery",
    "Google Cloud Storage",
    "Snowflake Data Cloud",
    "Amazon QuickSight",
    "AWS Data Transfer",
]


def generate(path: Path, rows: int) -> None:
    """Hourly FOCUS 1.2 rows in time order (as providers export them), with JSON tags."""
    first = datetime(END.year, END.month, END.day, tzinfo=UTC) - timedelta(days=DAYS - 1)
    hours = DAYS * 24
    services = "[" + ", ".join(f"'{s}'" for s in SERVICES) + "]"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        COPY (
          WITH r AS (
            SELECT i, (hash(i, 11) % 1000)::INTEGER AS u, (hash(i, 12) % 15)::INTEGER AS s,
                   TIMESTAMPTZ '{first:%Y-%m-%d %H:%M:%S}+00'
                     + to_hours(((i * {hours}) // {rows})::BIGINT) AS hour
            FROM range({rows}) t(i)
          )
          SELECT
            round(((hash(i, 1) % 100000)::DOUBLE) / 1000, 6) AS BilledCost,
            round(((hash(i, 1) % 100000)::DOUBLE) / 1000 * 0.93, 6) AS EffectiveCost,
            round(((hash(i, 1) % 100000)::DOUBLE) / 1000 * 1.1, 6) AS ListCost,
            CASE WHEN hash(i, 14) % 100 < 3 THEN 'EUR' ELSE 'USD' END AS BillingCurrency,
            '111122223333' AS BillingAccountId,
            hour AS ChargePeriodStart, hour + INTERVAL 1 HOUR AS ChargePeriodEnd,
            CASE WHEN u < 8 THEN 'Credit' WHEN u < 12 THEN 'Tax' ELSE 'Usage' END
              AS ChargeCategory,
            {services}[s + 1] AS ServiceName,
            CASE WHEN s IN (10, 11) THEN 'Google Cloud' ELSE 'AWS' END AS ProviderName,
            CASE WHEN s = 12 THEN 'Snowflake' WHEN s IN (10, 11) THEN 'Google Cloud'
                 ELSE 'AWS' END AS PublisherName,
            'i-' || (hash(i, 13) % 200000)::VARCHAR AS ResourceId,
            CASE
              WHEN u < 100 THEN NULL
              WHEN u < 250 THEN json_object('cost_center', 'CC-' || (1001 + (u % 3) * 1000)::VARCHAR,
                                            'env', 'prod')
              ELSE json_object('team', ['data-eng', 'ml-platform', 'analytics'][1 + u % 3],
                               'env', CASE WHEN u % 7 = 0 THEN 'dev' ELSE 'prod' END,
                               'pipeline', 'pipeline_' || (u % 40)::VARCHAR,
                               'model', 'model_' || (u % 12)::VARCHAR)
            END AS Tags,
            'USE1-BoxUsage' AS x_UsageType
          FROM r
        ) TO '{path}' (FORMAT parquet)
    """)
    con.close()


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{kib / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def utc(day: date, tz: str) -> str:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def raw_sql(path: Path, start: date, end: date, tz: str, allocation: bool) -> str:
    team = "json_extract_string(Tags, '$.team')"
    if allocation:
        team = (
            "coalesce(CASE json_extract_string(Tags, '$.cost_center') "
            "WHEN 'CC-1001' THEN 'data-eng' WHEN 'CC-2001' THEN 'ml-platform' "
            "WHEN 'CC-3001' THEN 'analytics' END, nullif(json_extract_string(Tags, '$.team'), ''))"
        )
    return f"""
        SELECT ServiceName, BillingCurrency, sum(EffectiveCost) AS cost
        FROM read_parquet('{path}')
        WHERE ChargePeriodStart >= TIMESTAMPTZ '{utc(start, tz)}'
          AND ChargePeriodStart < TIMESTAMPTZ '{utc(end, tz)}'
          AND {team} = '{TEAM}'
        GROUP BY ServiceName, BillingCurrency
        ORDER BY cost DESC
    """


async def compare(
    path: Path, reps: int, *, tz: str, allocation: bool, cold: bool = False
) -> dict[str, float]:
    """Medians and minimums of both sides; `cold`: a new source and a new connection for every
    round, so each first query also reads the files' layout (and the source its tag keys)."""
    query = SpendQuery(
        start=END - timedelta(days=29),
        end=END + timedelta(days=1),
        team=TEAM,
        group_by=SpendDimension.service,
    )
    source = FocusCostSource(
        str(path), timezone=tz, allocation=ALLOCATION if allocation else None, timeout=60
    )
    raw = duckdb.connect()
    raw.execute("SET TimeZone = 'UTC'")
    sql = raw_sql(path, query.start, query.end, tz, allocation)
    ours_times, raw_times = [], []
    answer: SpendSummary | None = None
    expected: dict[tuple[str, str], float] = {}
    for rep in range(reps + 1):  # the first round warms both up and is not counted
        if cold:
            source.close()
            raw.close()
        started = time.perf_counter()
        if cold:
            source = FocusCostSource(
                str(path), timezone=tz, allocation=ALLOCATION if allocation else None, timeout=60
            )
        answer = await source.spend(query)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        if cold:
            raw = duckdb.connect()
            raw.execute("SET TimeZone = 'UTC'")
        expected = {(s, c): float(v) for s, c, v in raw.execute(sql).fetchall()}
        theirs = time.perf_counter() - started
        if rep:
            ours_times.append(ours)
            raw_times.append(theirs)
    assert answer is not None
    got = {(line.key, line.currency): float(line.cost) for line in answer.lines}
    assert got.keys() == expected.keys() and all(
        abs(got[k] - expected[k]) < 1e-6 * max(1.0, abs(expected[k])) for k in got
    ), "the two answers differ"
    raw.close()
    source.close()
    return {
        "ours_median": statistics.median(ours_times),
        "raw_median": statistics.median(raw_times),
        "ours_min": min(ours_times),
        "raw_min": min(raw_times),
        "rows": float(answer.rows_scanned or 0),
        "lines": float(len(answer.lines)),
    }


class SlowCostSource:
    """A cost source that answers after `delay` seconds, like a remote API."""

    def __init__(self, name: str, delay: float) -> None:
        self.name = name
        self.delay = delay

    async def spend(self, query: SpendQuery) -> SpendSummary:
        await asyncio.sleep(self.delay)
        return SpendSummary(query=query, totals={"USD": Decimal(1)}, rows_scanned=1)

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)


async def fan_out(delay: float = 0.3, n: int = 4, reps: int = 5) -> dict[str, float]:
    sources = [SlowCostSource(f"slow{i}", delay) for i in range(n)]
    query = SpendQuery(start=END - timedelta(days=29), end=END + timedelta(days=1))
    hub = Sources(costs=sources, timeout=5)

    async def through_hub() -> None:
        answer = await hub.spend(query)
        assert answer.value.totals["USD"] == n and not answer.partial

    async def gather() -> None:
        found, problems = await gather_partial(
            {s.name: (lambda s=s: s.spend(query)) for s in sources}, timeout=5
        )
        assert len(found) == n and not problems

    async def one_by_one() -> None:
        for source in sources:
            await source.spend(query)

    async def timed(call: Callable[[], Awaitable[None]]) -> float:
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            await call()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    return {
        "hub": await timed(through_hub),
        "gather_partial": await timed(gather),
        "sequential": await timed(one_by_one),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"focus-{args.rows}.parquet"
    info = machine()
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    print(
        f"\n/ops spend team:{TEAM} 30d by service over {args.rows:,} FOCUS rows, "
        f"{args.reps} interleaved repetitions (after one warm-up each):"
    )
    print(f"{'case':44} {'switchboard':>12} {'raw SQL':>10} {'ratio':>7} {'min ratio':>9}")
    for label, tz, allocation, cold in (
        ("UTC, team tag", "UTC", False, False),
        ("Europe/Berlin, team tag + cost_center rules", "Europe/Berlin", True, False),
        ("first query on new files (layout, tag keys)", "Europe/Berlin", True, True),
    ):
        r = await compare(path, args.reps, tz=tz, allocation=allocation, cold=cold)
        print(
            f"{label:44} {r['ours_median'] * 1000:9.0f} ms {r['raw_median'] * 1000:7.0f} ms "
            f"{r['ours_median'] / r['raw_median']:6.2f}x {r['ours_min'] / r['raw_min']:8.2f}x"
            f"   ({r['rows']:,.0f} rows aggregated, {r['lines']:.0f} lines)"
        )
    f = await fan_out()
    print("\nan answer from 4 sources that take 300 ms each (median of 5):")
    print(f"  Sources.spend (hub fan-out)   {f['hub'] * 1000:6.0f} ms")
    print(f"  gather_partial                {f['gather_partial'] * 1000:6.0f} ms")
    print(f"  sequential awaits             {f['sequential'] * 1000:6.0f} ms")
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
