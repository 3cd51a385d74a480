"""Slack's Block Kit limits, enforced by every renderer before anything is sent."""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
HEADER_MAX = 150
TEXT_FALLBACK_MAX = (
    3000  # long fallback text is truncated by Slack anyway; keep notifications short
)


def truncate(text: str, limit: int) -> str:
    """Cut at `limit` characters, marking the cut so nothing is dropped silently."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def fit_message(
    blocks: list[dict[str, Any]], *, limit: int = MESSAGE_BLOCKS_MAX
) -> list[dict[str, Any]]:
    """Keep a message within the block limit; the last block says how much was left out.

    Renderers that can paginate do so before this; this is the safety net, never silent.
    """
    if len(blocks) <= limit:
        return blocks
    dropped = len(blocks) - (limit - 1)
    note = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"…and {dropped} more blocks not shown (Slack shows at most {limit}).",
            }
        ],
    }
    return blocks[: limit - 1] + [note]
