"""Outbox recovery benchmark: how long a burst takes when its sender is killed mid-drain.

A burst of `--messages` posts over `--channels` channels is queued; `python -m scheduler`
(the real sender, default pace 1 s per channel, 30 s lease, 1 s sweep) starts delivering it to
a fake Slack answering in `--latency` seconds; once `--kill-after` posts went out and one is in
flight it is killed with SIGKILL and a second `python -m scheduler` is started at once. The
run ends when every message is delivered. Two variants, interleaved per round:

- heartbeat: the default, replicas beat every SWITCHBOARD_HEARTBEAT_SECONDS (2 s) and the
  restarted one takes over the leases of the silent one after 4 missed beats;
- lease only: the same code with beats so rare (1000 s) that only the lease's expiry frees
  what the killed sender had in flight, as before heartbeats counted.

Printed: seconds from the kill to the last delivery, from the burst to the last delivery, the
pace-bound ideal (messages per channel x pace) and posts made (duplicates are at most one per
channel per crash). `--tree DIR` runs the scheduler from another checkout (e.g. an export of an
older commit) for a before/after measurement.

Run from the repository root:  uv run python bench/recovery.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.logging import configure_logging  # noqa: E402
from bot.outbox import Outbox  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from tests.fakeslack import FakeSlack  # noqa: E402

VARIANTS = {"heartbeat": "2", "lease only": "1000"}
PACE = 1.0  # the default per-channel pace, as in production


@dataclass
class Run:
    after_kill: float
    total: float
    posts: int
    in_flight: int


def one_run(args: argparse.Namespace, heartbeat: str, tree: Path) -> Run:
    with tempfile.TemporaryDirectory() as tmp, FakeSlack() as slack:
        url = f"sqlite:///{tmp}/recovery.db"
        # Migrated by the tree under test: its scheduler refuses a schema it does not know.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from bot.store.db import upgrade; upgrade(sys.argv[1])",
            ]
            + [url],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            check=True,
        )
        engine = make_engine(url)
        outbox = Outbox(engine)
        slack.hang_next("chat.postMessage", seconds=args.latency, times=10 * args.messages)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))},
            "DATABASE_URL": url,
            "SLACK_API_URL": slack.api_url,
            "SLACK_BOT_TOKEN": "xoxb-bench-recovery",
            "SWITCHBOARD_CONFIG": f"{tmp}/absent.yml",
            "SWITCHBOARD_HEARTBEAT_SECONDS": heartbeat,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(tree),
        }
        per_channel = args.messages // args.channels
        ids = [
            outbox.enqueue(method="chat.postMessage", channel=f"C{c}", payload={"text": f"{c}-{i}"})
            for i in range(per_channel)
            for c in range(args.channels)
        ]
        started = time.monotonic()

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "scheduler"], cwd=tree, env=env, stderr=subprocess.DEVNULL
            )

        first = start()
        slack.wait_for(
            lambda s: (
                len(s.calls_to("chat.postMessage")) >= args.kill_after
                and any(c.status is None for c in s.calls)
            ),
            timeout=120,
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()
        with engine.connect() as conn:
            in_flight = conn.exec_driver_sql(
                "SELECT count(*) FROM outbox_message WHERE status = 'pending'"
                " AND lease_until IS NOT NULL"
            ).scalar_one()
        second = start()
        try:
            done = slack.wait_for(
                lambda _: all(outbox.status(i).status == "sent" for i in ids), timeout=300
            )
            finished = time.monotonic()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        if not done:
            raise RuntimeError("the burst was not delivered within 300 s")
        posts = len(slack.calls_to("chat.postMessage"))
        engine.dispose()
        return Run(finished - killed, finished - started, posts, int(in_flight))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--kill-after", type=int, default=6, help="posts before the kill")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per Web API call")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to run the sender from")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    configure_logging("WARNING")
    chosen = [v.strip() for v in args.variants.split(",")]
    results: dict[str, list[Run]] = {v: [] for v in chosen}
    for round_ in range(args.rounds):
        for variant in chosen:
            run = one_run(args, VARIANTS[variant], args.tree)
            results[variant].append(run)
            print(
                f"round {round_ + 1} {variant:>10}: {run.after_kill:5.1f} s after the kill, "
                f"{run.total:5.1f} s in all, {run.posts} posts, {run.in_flight} in flight",
                flush=True,
            )
    ideal = args.messages / args.channels * PACE
    print(
        f"\n{args.messages} messages, {args.channels} channels, pace {PACE:g} s: ideal ~{ideal:g} s"
    )
    print("| variant | after the kill (median) | whole burst (median) | posts |")
    print("| --- | ---: | ---: | ---: |")
    medians = {}
    for variant, runs in results.items():
        medians[variant] = statistics.median(r.total for r in runs)
        print(
            f"| {variant} | {statistics.median(r.after_kill for r in runs):.1f} s "
            f"| {medians[variant]:.1f} s | {', '.join(str(r.posts) for r in runs)} |"
        )
    if len(medians) == 2 and "lease only" in medians:
        print(f"\nratio heartbeat / lease only: {medians['heartbeat'] / medians['lease only']:.2f}")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
