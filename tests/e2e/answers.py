"""Asking the running demo app a slash command and reading its answer as Slack would show it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.e2e.conftest import RunningApp


async def ask(app: RunningApp, text: str) -> dict[str, Any]:
    """The answer Slack would show: the ack itself, or what followed on the response_url."""
    name = f"r{abs(hash(text))}"
    resp = await app.signer.slash_command(text=text, response_url=app.slack.response_url(name))
    assert resp.status_code == 200
    body = resp.json()
    if "Working on it" not in body.get("text", ""):
        return body
    assert await asyncio.to_thread(app.slack.wait_for, lambda s: bool(s.responses(name)), 10)
    return app.slack.responses(name)[-1]


def texts(node: Any) -> list[str]:
    """Every text Slack renders (button values are data, never shown)."""
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for key, v in node.items() if key != "value" for t in texts(v)]
    return []


def shown(body: dict[str, Any]) -> str:
    """The message text and every rendered text of its blocks, one per line."""
    return "\n".join([body["text"], *texts(body["blocks"])])


def _readable(node: Any) -> Any:
    """Blocks without button values: what Slack renders, not what a click sends back."""
    if isinstance(node, dict):
        return {k: _readable(v) for k, v in node.items() if k != "value"}
    if isinstance(node, list):
        return [_readable(v) for v in node]
    return node


def shown_as_json(body: dict[str, Any]) -> str:
    """The message text and its whole blocks (but button values) as JSON: stricter than `shown`,
    since every field counts, not only the rendered texts."""
    return body["text"] + json.dumps(_readable(body["blocks"]), ensure_ascii=False)
