"""Slack mrkdwn building blocks, with escaping of any text that came from a user or a peer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.views.limits import FIELD_TEXT_MAX, FIELDS_MAX, HEADER_MAX, SECTION_TEXT_MAX, truncate


def escape(text: str) -> str:
    """Escape &, <, > so echoed text cannot become <!channel>, <@U…> or a disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(text, HEADER_MAX), "emoji": True},
    }


def section(
    text: str, *, block_id: str | None = None, accessory: dict[str, Any] | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)},
    }
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields(texts: Sequence[str], *, text: str | None = None) -> dict[str, Any]:
    """A section of mrkdwn fields (side by side), each within 2000 characters; past ten, the
    tenth says how many more there were instead of dropping them silently."""
    shown = list(texts)
    if len(shown) > FIELDS_MAX:
        rest = len(shown) - (FIELDS_MAX - 1)
        shown = [*shown[: FIELDS_MAX - 1], f"_+{rest} more not shown_"]
    block: dict[str, Any] = {"type": "section"}
    if text:
        block["text"] = {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}
    block["fields"] = [{"type": "mrkdwn", "text": truncate(t, FIELD_TEXT_MAX)} for t in shown]
    return block


def context(*texts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, SECTION_TEXT_MAX)} for t in texts[:10]],
    }


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str, *, action_id: str, value: str | None = None, style: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, 75), "emoji": True},
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = value[:2000]
    if style:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": list(elements[:25])}
    if block_id:
        block["block_id"] = block_id
    return block
