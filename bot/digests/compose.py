"""What one digest says, as posted: the root message, its thread replies, a chart and the state the
next run compares against. (Stand-in over the preview renderer; same API as the full version.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.answers.digests import section_boards
from bot.ops_config.digests import Digest
from bot.views.digests import render_digest
from bot.views.limits import fit_message
from bot.views.mrkdwn import context

if TYPE_CHECKING:
    from bot.services import Services


@dataclass(frozen=True)
class DigestChart:
    """A PNG to upload into the digest's thread."""

    png: bytes
    filename: str
    alt_text: str
    title: str


@dataclass(frozen=True)
class ComposedDigest:
    name: str
    channel: str
    text: str  # notification fallback text of the root
    blocks: list[dict[str, Any]]  # the root message (within Slack limits)
    replies: list[list[dict[str, Any]]]  # thread replies, in order (details)
    chart: DigestChart | None  # PNG to upload into the thread, or None
    state: dict[str, Any]  # JSON-able snapshot stored after posting; next run gets it as previous
    quiet: bool  # nothing changed since `previous`


def late_words(late_by: timedelta) -> str:
    minutes = max(int(late_by.total_seconds() // 60), 1)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


async def compose_digest(
    services: Services,
    digest: Digest,
    *,
    now: datetime,
    previous: Mapping[str, Any] | None,
    late_by: timedelta | None = None,
) -> ComposedDigest | None:
    """The digest `digest` as it is posted at `now`; None means post nothing."""
    deps = services.answer_deps(now=now)
    if deps is None:
        raise LookupError("no ops.yml is loaded, so there is nothing to digest")
    zone = ZoneInfo(digest.timezone or deps.config.workspace.timezone)
    teams: list[str | None] = list(digest.teams) if digest.teams else [None]
    boards = await section_boards(deps, sections=digest.sections, teams=teams)
    names = {slug: team.name or slug for slug, team in deps.config.teams.items()}
    reply = render_digest(digest, boards, team_names=names, now=now, tz=zone, preview=False)
    blocks = list(reply.blocks)
    if late_by is not None:
        note = f":hourglass: Late by {late_words(late_by)}: I was not running when it was due."
        blocks.insert(1, context(note))
    return ComposedDigest(
        name=digest.name,
        channel=digest.channel,
        text=reply.text,
        blocks=fit_message(blocks),
        replies=[],
        chart=None,
        state={"composed_at": now.isoformat()},
        quiet=False,
    )
