"""A stand-alone outbox sender process for the crash tests (killed with SIGKILL mid-drain).

Reads DATABASE_URL, SLACK_API_URL and SLACK_BOT_TOKEN like the app (through Settings);
stops cleanly on SIGTERM. With --heartbeat it runs inside the real scheduler (heartbeat and
outbox sweep jobs, SWITCHBOARD_OUTBOX_INTERVAL), as `python -m scheduler` does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.logging import configure_logging  # noqa: E402
from bot.outbox import OutboxSender  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from scheduler.runner import build_scheduler  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    engine = make_engine(settings.database_url)
    sender = OutboxSender.from_settings(
        engine,
        settings,
        replica_id=args.replica,
        channel_pace=args.pace,
        lease_seconds=args.lease,
        timeout=args.timeout,
        backoff_base=0.05,
        backoff_max=0.2,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if args.heartbeat is None:
            await sender.run(stop, poll_interval=0.1)
        else:
            sched = build_scheduler(
                settings,
                engine,
                replica_id=args.replica,
                outbox_sender=sender,
                heartbeat_seconds=args.heartbeat,
            )
            sched.start()
            await stop.wait()
            await sched.shutdown()
    finally:
        await sender.aclose()
        engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--replica", required=True)
    parser.add_argument("--pace", type=float, default=0.05)
    parser.add_argument("--lease", type=float, default=1.5)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--heartbeat", type=float, default=None, help="seconds between beats")
    configure_logging("WARNING")
    asyncio.run(main(parser.parse_args()))
