"""Posting an answer's chart: a PNG upload queued in the outbox, shared after its message."""

from __future__ import annotations

import re

from bot.outbox import Outbox
from bot.outbox.files import UPLOAD_METHOD, chart_payload
from bot.views.reply import ChartSpec


def chart_filename(spec: ChartSpec) -> str:
    """`ml-platform-spend-last-30-days.png`: the title, as a file name people can read."""
    slug = re.sub(r"[^a-z0-9]+", "-", spec.title.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'chart'}.png"


async def enqueue_chart(
    outbox: Outbox,
    *,
    channel: str,
    parent_id: int | None,
    thread_ts: str | None,
    spec: ChartSpec,
    dedupe_key: str | None = None,
) -> int:
    """Queue ``spec`` as a PNG upload in ``channel``; returns its outbox id.

    With ``parent_id`` (the outbox id of the message the chart illustrates) the upload waits
    until that message is posted and goes into its thread — or into ``thread_ts`` when given,
    i.e. the thread the message itself was posted in. The PNG is drawn when the upload is
    sent, so the queued row holds only the spec.
    """
    msg_id: int = await outbox.aenqueue(
        method=UPLOAD_METHOD,
        channel=channel,
        payload=chart_payload(spec, filename=chart_filename(spec), thread_ts=thread_ts),
        parent_id=parent_id,
        dedupe_key=dedupe_key,
    )
    return msg_id
