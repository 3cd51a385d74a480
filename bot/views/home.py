"""App Home: a welcome view until the team dashboards arrive."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.commands.grammar import COMMANDS
from bot.views.limits import VIEW_BLOCKS_MAX
from bot.views.mrkdwn import context, divider, header, section


def render_home(available: Iterable[str]) -> dict[str, Any]:
    ready = set(available)
    lines = [f"`/ops {s.usage}` — {s.summary}" for s in COMMANDS if s.name in ready]
    soon = [f"`/ops {s.name}`" for s in COMMANDS if s.name not in ready]
    blocks = [
        header("Switchboard"),
        section(
            "Pipelines, models and cloud spend in one place. Ask me with `/ops`, a mention or a DM."
        ),
        divider(),
        section("*Works today*\n" + "\n".join(lines)),
    ]
    if soon:
        blocks.append(context("Coming soon: " + ", ".join(soon)))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}
