"""Slash-command ack latency and throughput: Switchboard's `/ops help` vs a bare bolt app, side by side.

Each server runs in its own process on loopback; this process signs real slash-command requests
and drives them: an open-loop phase at a fixed rate (latency p50/p99) and a closed-loop phase
with N concurrent clients (throughput). Run: `uv run python -m bench.ack [--rate 100 --seconds 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.fakeslack import FakeSlack, SlackSigner
from tests.peers.runtime import free_port

SECRET = "bench-signing-secret"
ROOT = Path(__file__).resolve().parents[1]


def start(kind: str, api_url: str, db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ack_servers", kind, str(port), api_url, SECRET, db_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            httpx.post(url + "/slack/events", content=b"", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def body(i: int) -> bytes:
    return urlencode(
        {
            "token": "x",
            "team_id": "T_SWITCH",
            "team_domain": "bench",
            "channel_id": "C_BENCH",
            "channel_name": "bench",
            "user_id": "U_ALICE",
            "user_name": "alice",
            "command": "/ops",
            "text": "help",
            "api_app_id": "A_BENCH",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/r",
            "trigger_id": f"{i}.1.bench",
        }
    ).encode()


async def one(client: httpx.AsyncClient, signer: SlackSigner, url: str, i: int) -> float:
    payload = body(i)
    headers = signer.sign(payload) | {"Content-Type": "application/x-www-form-urlencoded"}
    started = time.perf_counter()
    resp = await client.post(url + "/slack/events", content=payload, headers=headers)
    elapsed = time.perf_counter() - started
    if resp.status_code != 200 or "/ops status" not in resp.text:
        raise RuntimeError(f"bad answer {resp.status_code}: {resp.text[:200]}")
    return elapsed


async def open_loop(url: str, rate: float, seconds: float) -> list[float]:
    signer = SlackSigner(SECRET, url)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        tasks = []
        start_at = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start_at + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, signer, url, i)))
        return list(await asyncio.gather(*tasks))


async def closed_loop(url: str, concurrency: int, seconds: float) -> float:
    signer = SlackSigner(SECRET, url)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient, w: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            await one(client, signer, url, w * 1_000_000 + i)
            i += 1
            done += 1

    async with httpx.AsyncClient(timeout=10) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client, w) for w in range(concurrency)))
        return done / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else values[0] * 1000
    )


async def measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    await open_loop(url, 50, 1)  # warm up: auth.test, connections, imports
    latencies = await open_loop(url, args.rate, args.seconds)
    rps = await closed_loop(url, args.concurrency, args.seconds)
    return {"p50": pct(latencies, 50), "p99": pct(latencies, 99), "rps": rps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; medians are reported"
    )
    args = parser.parse_args()
    kinds = ("bare", "switchboard")
    rounds: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        servers = {k: start(k, slack.api_url, f"sqlite:///{tmp}/{k}.db") for k in kinds}
        try:
            # Both servers run during the whole benchmark and are measured in alternation, so
            # background load on the machine hits both alike.
            for _ in range(args.rounds):
                for kind in kinds:
                    rounds[kind].append(asyncio.run(measure(servers[kind][1], args)))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=10)
    results = {
        k: {m: statistics.median(r[m] for r in rounds[k]) for m in ("p50", "p99", "rps")}
        for k in kinds
    }
    print(
        f"{'server':<12} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}   (medians of {args.rounds} alternating "
        f"rounds; open loop {args.rate:.0f}/s, closed loop {args.concurrency} clients, "
        f"{args.seconds:.0f} s each)"
    )
    for kind, r in results.items():
        print(f"{kind:<12} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f}")
    ratio = results["switchboard"]["rps"] / results["bare"]["rps"]
    print(
        f"throughput ratio switchboard/bare = {ratio:.2f} (target >= 0.80); "
        f"switchboard p99 at {args.rate:.0f}/s = {results['switchboard']['p99']:.1f} ms (target < 100 ms)"
    )


if __name__ == "__main__":
    main()
