"""``python -m scheduler``: the scheduler and outbox sender alone, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import structlog

from bot.logging import configure_logging
from bot.outbox import OutboxSender
from bot.services import build_services
from bot.settings import InvalidSetting, Settings, get_settings
from bot.store.db import make_engine, readiness
from scheduler.runner import build_scheduler, default_replica_id

log = structlog.get_logger("scheduler")


async def serve(settings: Settings, *, replica_id: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        ready, reason = await asyncio.to_thread(readiness, engine)
        if not ready:
            log.error("scheduler.not_ready", reason=reason, hint="run `switchboard db upgrade`")
            return 2
        sender = OutboxSender.from_settings(engine, settings, replica_id=replica_id)
        # The services' jobs need what the app has (the approvals tick executes stalled
        # approvals and renders cards): the same builder makes them.
        services = build_services(settings, engine=engine)
        services.sending().attach(sender)
        sched = build_scheduler(
            settings, engine, replica_id=replica_id, outbox_sender=sender, services=services
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sched.start()
        await stop.wait()
        log.info("scheduler.stopping")
        await sched.shutdown()
        await sender.aclose()
        return 0
    finally:
        engine.dispose()


def main() -> int:
    try:
        settings = get_settings()
    except InvalidSetting as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    return asyncio.run(serve(settings, replica_id=default_replica_id()))


if __name__ == "__main__":
    sys.exit(main())
