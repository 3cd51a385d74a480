"""The answer to a name nothing matches: what was asked, the closest names, and what exists."""

from __future__ import annotations

from bot.answers.entities import Unknown
from bot.views.format import code
from bot.views.mrkdwn import context, section
from bot.views.reply import Reply

KNOWN_LISTED = 30


def render_unknown(found: Unknown, *, known: list[str] | None = None) -> Reply:
    """Unknown names are shown escaped; `known` (listed when nothing was close) helps the next try."""
    blocks = [section(f":warning: {found.message}")]
    if known and not found.suggestions:
        listed = ", ".join(code(name) for name in known[:KNOWN_LISTED])
        more = f" and {len(known) - KNOWN_LISTED} more" if len(known) > KNOWN_LISTED else ""
        blocks.append(context(f"Known {found.kind}s: {listed}{more}"))
    return Reply(text=found.message, blocks=blocks)
