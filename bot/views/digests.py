"""Digests in Slack: the list (`/ops digest list`), the preview of one digest exactly as it would be
posted, and the compact blocks of one section board (shared with App Home)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.answers.digests import SectionBoard
from bot.views.approval_lists import list_line
from bot.views.budgets import budget_board_blocks
from bot.views.format import code, local_time, slack_date
from bot.views.incidents import incident_blocks, incidents_headline
from bot.views.limits import (
    ANSWER_JSON_MAX,
    MESSAGE_BLOCKS_MAX,
    fit_message,
    join_within,
    json_size,
)
from bot.views.models import model_board_blocks
from bot.views.mrkdwn import context, divider, escape, header, section
from bot.views.paging import page_blocks
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
TEXT_NAMES = 600  # characters of digest names in the list's fallback text


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


def _plan_block(plan: Any, tz: tzinfo) -> Block:
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
    problem = getattr(plan, "problem", None)
    refused = f"\n:warning: Last post refused: {problem}" if problem else ""
    return section(
        f"*{code(digest.name)}* → {channel_ref(digest.channel)}\n"
        f"{when} · next: {upcoming}\n"
        f"Sections: {escape(sections)} · Teams: {teams}{refused}"
    )


def render_digest_list(
    plans: Sequence[Any], *, tz: tzinfo, command: str = "digest list", page: int = 0
) -> Reply:
    """`/ops digest list`: every digest with channel, schedule, next run, sections and teams,
    as many as fit in one message, then "More" (`command` again, `page` + 1)."""
    if not plans:
        return Reply(
            text="No digests are configured.",
            blocks=[section("No digests are configured: add them under `digests:` in ops.yml.")],
        )
    top: list[Block] = [header("Digests")]
    end = [context("`/ops digest preview NAME` shows one exactly as it would be posted.")]
    body = page_blocks(
        [[_plan_block(plan, tz)] for plan in plans],
        page=page,
        command=command,
        max_chars=ANSWER_JSON_MAX - json_size(top + end) - 2,
        max_blocks=MESSAGE_BLOCKS_MAX - len(top) - len(end),
    )
    names = join_within([escape(p.digest.name) for p in plans], TEXT_NAMES)
    return Reply(text=f"{len(plans)} digests: {names}", blocks=fit_message(top + body + end))


# -- preview -------------------------------------------------------------------------------------


SECTION_COMMANDS = {
    "pipelines": "status",
    "models": "models",
    "spend": "spend 7d by team",
    "budgets": "budget",
    "approvals": "approvals",
    "incidents": "incidents",
}


def _section_part(
    name: str,
    mine: Sequence[SectionBoard],
    *,
    rows: int,
    room: int,
    several: bool,
    team_names: dict[str, str],
    tz: tzinfo,
) -> tuple[list[Block], int]:
    """One section of a digest within `room` blocks, and how many teams' boards did not fit
    (a closing line says so and which command shows them)."""
    part: list[Block] = [divider(), section(f"*{escape(TITLES.get(name, name))}*")]
    for index, item in enumerate(mine):
        piece = (
            [context(f"*{escape(team_names.get(item.team, item.team))}*")]
            if (several and item.team)
            else []
        )
        piece += board_blocks(item, rows=rows, tz=tz)
        last = index == len(mine) - 1
        if len(part) + len(piece) + (0 if last else 1) > room:
            left = len(mine) - index
            command = SECTION_COMMANDS.get(name, "help")
            part.append(
                context(
                    f"…and {left} more team{'s' if left != 1 else ''} not shown here: "
                    f"`/ops {command}`."
                )
            )
            return part, left
        part += piece
    return part, 0


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
    several = len(dict.fromkeys(b.team for b in pairs)) > 1
    # Each section gets its share of the 50 blocks, so every one is shown; within it, boards
    # are whole (their own "…and N more" lines stay) and teams that do not fit are counted.
    room = MESSAGE_BLOCKS_MAX - len(top) - len(end)
    per_section = max(3, room // max(len(digest.sections), 1))
    for rows in (ROWS, 3, 1, 0):
        body: list[Block] = []
        cut = False
        for name in digest.sections:
            mine = [b for b in pairs if b.section == name]
            part, left_out = _section_part(
                name,
                mine,
                rows=rows,
                room=per_section,
                several=several,
                team_names=team_names,
                tz=tz,
            )
            body += part
            cut = cut or left_out > 0
        if not cut and json_size(top + body + end) <= ANSWER_JSON_MAX:
            break
    blocks = fit_message(top + body + end)
    return Reply(text=f"Digest {escape(digest.name)}", blocks=blocks)
