"""`switchboard digest run`: a digest printed as it would be posted, and a post seen through to
Slack from the terminal (the outbox sends it; a running bot would too, whichever comes first)."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import or_, select

from bot.digests.compose import ComposedDigest
from bot.outbox import OutboxSender
from bot.services import Services
from bot.settings import Settings
from bot.store.models import OutboxMessage, OutboxStatus
from bot.views.terminal import render_blocks

MSG = OutboxMessage.__table__  # type: ignore[attr-defined]


def print_digest(composed: ComposedDigest | None, *, ansi: bool = False) -> str:
    """The root, each thread reply and the chart, as the terminal shows Block Kit."""
    if composed is None:
        return "Nothing would be posted: nothing changed since the last post (when_quiet: skip)."
    parts = [f"→ {composed.channel}", render_blocks(composed.blocks, ansi=ansi)]
    for index, reply in enumerate(composed.replies, start=1):
        parts += [f"\n── in the thread ({index}/{len(composed.replies)}) ──", render_blocks(reply)]
    if composed.chart is not None:
        chart = composed.chart
        parts.append(f"\n── in the thread: chart {chart.filename} ({chart.alt_text}) ──")
    return "\n".join(parts)


def _statuses(services: Services, root: int) -> list[str]:
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(MSG.c.status).where(or_(MSG.c.id == root, MSG.c.parent_id == root))
        ).all()
    return [r[0] for r in rows]


async def deliver(services: Services, settings: Settings, root: int, *, wait: float) -> str:
    """Send the post (root and thread) now, for at most `wait` seconds; what became of it."""
    if wait <= 0 or settings.slack_bot_token is None:
        return f"queued (outbox message {root}); a running switchboard delivers it"
    sender = OutboxSender.from_settings(services.engine, settings, replica_id=f"cli-{root}")
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            await sender.drain_once()
            statuses = await asyncio.to_thread(_statuses, services, root)
            if OutboxStatus.pending.value not in statuses:
                break
            await asyncio.sleep(0.2)
    finally:
        await sender.aclose()
    root_row = services.sending().status(root)
    if root_row.status == OutboxStatus.sent.value:
        return f"posted to {root_row.result_channel or root_row.channel} (ts {root_row.result_ts})"
    if root_row.status == OutboxStatus.dead.value:
        return f"Slack refused it: {root_row.last_error}"
    return f"still queued after {wait:g} s (outbox message {root}); a running switchboard sends it"
