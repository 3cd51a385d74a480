"""Slack's Block Kit limits, enforced by every renderer before anything is sent."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
# Slack refuses a message whose blocks serialise to roughly 13k characters (msg_blocks_too_long,
# no exact figure documented). MESSAGE_JSON_MAX is what a whole message may use; an answer keeps
# to ANSWER_JSON_MAX so the "I read this as" line (READING_ROOM) and the "Share in channel"
# button (SHARE_ROOM, its value holds the command) still fit around it.
MESSAGE_JSON_MAX = 12_000
SHARE_ROOM = 1_800
READING_ROOM = 700
ANSWER_JSON_MAX = MESSAGE_JSON_MAX - SHARE_ROOM - READING_ROOM

_OPEN_TOKEN = re.compile(r"<[^>]*$")


def json_size(blocks: Sequence[dict[str, Any]] | dict[str, Any]) -> int:
    """Characters of the blocks as Slack receives them (compact JSON, UTF-8 kept)."""
    return len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))


def truncate(text: str, limit: int) -> str:
    """Cut at `limit` characters, marking the cut so nothing is dropped silently.

    The cut backs off to the last line break (or space) when that keeps most of the text, and
    never leaves half a `<…>` token (a link, a date, a mention) behind.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for stop in ("\n", " "):
        at = cut.rfind(stop)
        if at >= limit * 0.6:
            cut = cut[:at]
            break
    cut = _OPEN_TOKEN.sub("", cut)
    return cut.rstrip() + "…"


def join_within(items: Sequence[str], limit: int, *, sep: str = ", ") -> str:
    """`a, b, c +4 more`: as many whole items as fit in `limit` characters, then how many did not.

    Items are already formatted (escaped, in code): they are never cut in half.
    """
    shown: list[str] = []
    used = 0
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        tail = len(f" +{rest} more") if rest else 0
        extra = len(item) + (len(sep) if shown else 0)
        if used + extra + tail > limit:
            break
        shown.append(item)
        used += extra
    left = len(items) - len(shown)
    if not left:
        return sep.join(shown)
    more = f"+{left} more"
    return f"{sep.join(shown)} {more}" if shown else more


def lines_within(lines: Sequence[str], limit: int, *, more: str = "…and {n} more") -> str:
    """Whole lines joined while they fit in `limit` characters, then a line saying how many
    were left out (`more` is formatted with n)."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        tail = len(more.format(n=rest)) + 1 if rest else 0
        extra = len(line) + (1 if shown else 0)
        if used + extra + tail > limit:
            break
        shown.append(line)
        used += extra
    left = len(lines) - len(shown)
    if left:
        shown.append(more.format(n=left))
    return "\n".join(shown)


def _cut_note(dropped: int, why: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"…and {dropped} more blocks not shown ({why})."}],
    }


def fit_message(
    blocks: list[dict[str, Any]],
    *,
    limit: int = MESSAGE_BLOCKS_MAX,
    max_chars: int | None = ANSWER_JSON_MAX,
) -> list[dict[str, Any]]:
    """Keep a message within the block limit and the size Slack accepts; the last block says
    how much was left out.

    Renderers that can paginate do so before this; this is the safety net, never silent.
    `max_chars=None` for surfaces without the message size limit (the Home tab).
    """
    fitted = blocks
    if len(blocks) > limit:
        dropped = len(blocks) - (limit - 1)
        fitted = blocks[: limit - 1] + [_cut_note(dropped, f"Slack shows at most {limit}")]
    if max_chars is None or json_size(fitted) <= max_chars:
        return fitted
    kept = list(blocks[: limit - 1]) if len(blocks) > limit else list(blocks)
    while kept:
        kept.pop()
        candidate = [*kept, _cut_note(len(blocks) - len(kept), "too long for one Slack message")]
        if json_size(candidate) <= max_chars:
            return candidate
    return [_cut_note(len(blocks), "too long for one Slack message")]
