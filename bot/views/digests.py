"""Digests in Slack: the list (`/ops digest list`), the preview of one digest exactly as it would be
posted, and the compact blocks of one section board (shared with App Home)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.answers.digests import SectionBoard
from bot.approvals.cards import list_line
from bot.views.budgets import budget_board_blocks
from bot.views.format import code, local_time, slack_date
from bot.views.incidents import incident_blocks, incidents_headline
from bot.views.limits import MESSAGE_BLOCKS_MAX, fit_message
from bot.views.models import model_board_blocks
from bot.views.mrkdwn import context, divider, escape, header, section
from bot.views.pipelines import pipeline_board_blocks
from bot.views.reply import Block, Reply
from bot.views.spend import spend_headline

TITLES = {
    "pipelines": "Pipelines",
    "models": "Models",
    "spend": "Spend (last 7 days)",
    "budgets": "Budgets",
    "approvals": "Open approvals",
    "incidents": "Open incidents",
}
ROWS = 5  # rows per board in a digest or on the Home tab


def channel_ref(channel: str) -> str:
    """A channel id as a clickable mention; a `#name` from ops.yml as plain text."""
    if channel[:1] in ("C", "G") and channel.isalnum():
        return f"<#{channel}>"
    return escape(channel)


def _approval_lines(requests: Sequence[Any], tz: tzinfo, rows: int) -> list[Block]:
    if not requests:
        return [section("No open approval requests.")]
    lines = [list_line(r, tz, mine=False) for r in requests[:rows]]
    if len(requests) > rows:
        lines.append(f"…and {len(requests) - rows} more: `/ops approvals`")
    return [section("\n".join(lines))]


def board_blocks(item: SectionBoard, *, rows: int, tz: tzinfo) -> list[Block]:
    """The compact blocks of one section board (or why it is missing)."""
    if item.board is None:
        return [
            context(
                f":hourglass: {escape(TITLES.get(item.section, item.section))}: "
                f"{escape(item.missing or 'not available')}"
            )
        ]
    board = item.board
    if item.section == "pipelines":
        return pipeline_board_blocks(board, limit=rows, tz=tz)
    if item.section == "models":
        return model_board_blocks(board, limit=rows)
    if item.section == "budgets":
        return budget_board_blocks(board, limit=min(rows, 3))
    if item.section == "incidents":
        headline = section(incidents_headline(board, team=item.team))
        return [headline, *incident_blocks(board, tz=tz, limit=rows)]
    if item.section == "spend":
        return [section(spend_headline(board))]
    if item.section == "approvals":
        return _approval_lines(board, tz, rows)
    return [context(f"{escape(item.section)}: not a digest section")]


# -- list ----------------------------------------------------------------------------------------


def render_digest_list(plans: Sequence[Any], *, tz: tzinfo) -> Reply:
    """`/ops digest list`: every digest with channel, schedule, next run, sections and teams."""
    if not plans:
        return Reply(
            text="No digests are configured.",
            blocks=[section("No digests are configured: add them under `digests:` in ops.yml.")],
        )
    blocks: list[Block] = [header("Digests")]
    for plan in plans[:20]:
        digest = plan.digest
        teams = ", ".join(escape(n) for n in plan.team_names) if plan.team_names else "every team"
        when = f"{escape(plan.schedule_words)} ({escape(digest.timezone or 'UTC')})"
        if not digest.enabled:
            upcoming = "_disabled_"
        elif plan.next_run is None:
            upcoming = "no further run"
        else:
            upcoming = slack_date(plan.next_run, tz)
        sections = ", ".join(TITLES.get(s, s).split(" (")[0].lower() for s in digest.sections)
        blocks.append(
            section(
                f"*{code(digest.name)}* → {channel_ref(digest.channel)}\n"
                f"{when} · next: {upcoming}\n"
                f"Sections: {escape(sections)} · Teams: {teams}"
            )
        )
    blocks.append(context("`/ops digest preview NAME` shows one exactly as it would be posted."))
    names = ", ".join(p.digest.name for p in plans)
    return Reply(text=f"{len(plans)} digests: {names}", blocks=fit_message(blocks))


# -- preview -------------------------------------------------------------------------------------


def render_digest(
    digest: Any,
    boards: Sequence[SectionBoard],
    *,
    team_names: dict[str, str],
    now: datetime,
    tz: tzinfo,
    preview: bool = True,
) -> Reply:
    """The digest as posted: each configured section for the digest's teams, ≤ 50 blocks."""
    title = f"{'Preview: ' if preview else ''}{digest.name} · {local_time(now, tz, with_day=True)}"
    top: list[Block] = [header(title)]
    if preview:
        top.append(context(f"Only you see this preview. Posts to {channel_ref(digest.channel)}."))
    end: list[Block] = [context("Ask for more with `/ops status`, `/ops models`, `/ops budget`.")]
    pairs = [b for b in boards if b.section in digest.sections]
    teams = list(dict.fromkeys(b.team for b in pairs))
    # Divide what is left of the 50 blocks between the sections, so every one is shown.
    room = MESSAGE_BLOCKS_MAX - len(top) - len(end)
    per_section = max(2, room // max(len(digest.sections), 1))
    body: list[Block] = []
    for name in digest.sections:
        mine = [b for b in pairs if b.section == name]
        part: list[Block] = [divider(), section(f"*{escape(TITLES.get(name, name))}*")]
        per_team = max(1, (per_section - 2) // max(len(mine), 1))
        for item in mine:
            if len(teams) > 1 and item.team:
                part.append(context(f"*{escape(team_names.get(item.team, item.team))}*"))
            part += board_blocks(item, rows=ROWS, tz=tz)[:per_team]
        body += part[:per_section]
    blocks = fit_message(top + body[:room] + end)
    return Reply(text=f"Digest {digest.name}", blocks=blocks)
