"""App Home: the user's teams at a glance, approvals waiting for them, request buttons and a short
"ask me" help; a welcome view when no ops.yml is loaded. At most 100 blocks."""

from __future__ import annotations

from typing import Any

from bot.answers.home import HomeData, TeamGlance
from bot.commands.grammar import COMMANDS
from bot.views.approval_lists import list_line
from bot.views.digests import TITLES, board_blocks, channel_ref
from bot.views.ids import Action, BlockId
from bot.views.intent import QUESTION_EXAMPLES
from bot.views.limits import VIEW_BLOCKS_MAX, fit_message, join_within
from bot.views.mrkdwn import actions, button, context, divider, escape, header, section
from bot.views.reply import Block

ROWS = 5  # rows per board
APPROVALS_SHOWN = 5
MORE_TEAMS_CHARS = 2800  # characters of team names in one section


def _request_buttons() -> Block:
    return actions(
        button("Request a promotion", action_id=Action.home_request_promotion),
        button("Request a budget increase", action_id=Action.home_request_budget),
        block_id=BlockId.home_requests,
    )


def _approvals(data: HomeData) -> list[Block]:
    waiting = data.approvals_waiting
    if waiting is None:
        return []
    if not waiting:
        return [section("*Waiting for you*\nNo approval requests are waiting for you.")]
    lines = [list_line(r, data.tz, mine=False) for r in waiting[:APPROVALS_SHOWN]]
    if len(waiting) > APPROVALS_SHOWN:
        lines.append(f"…and {len(waiting) - APPROVALS_SHOWN} more: `/ops approvals`")
    return [section(f"*Waiting for you ({len(waiting)})*\n" + "\n".join(lines))]


def _team(glance: TeamGlance, data: HomeData, rows: int) -> list[Block]:
    """One team's boards, whole: a board's own "…and N more" line is never cut off."""
    title = glance.name or glance.team or "Every team"
    blocks: list[Block] = [divider(), header(title)]
    if glance.channel:
        blocks.append(context(f"{escape(glance.team or '')} · {channel_ref(glance.channel)}"))
    for item in glance.boards:
        blocks.append(section(f"*{escape(TITLES.get(item.section, item.section))}*"))
        blocks += board_blocks(item, rows=rows, tz=data.tz)
    return blocks


def _teams(data: HomeData, room: int) -> list[Block]:
    """Every team with as many rows per board as fit in `room` blocks; when even the most
    compact boards do not fit them all, the first teams that fit and a note naming the rest
    with the command that shows each."""
    for rows in (ROWS, 3, 1, 0):
        parts = [_team(glance, data, rows) for glance in data.teams]
        if sum(len(part) for part in parts) <= room:
            return [block for part in parts for block in part]
    blocks: list[Block] = []
    shown = 0
    for part in parts:  # the most compact ones (rows=0)
        if len(blocks) + len(part) > room - 2:
            break
        blocks += part
        shown += 1
    rest = data.teams[shown:]
    named = [
        f"*{escape(g.name or g.team or '')}* `/ops status team:{escape(g.team)}`"
        if g.team
        else f"*{escape(g.name)}*"
        for g in rest
    ]
    blocks += [
        divider(),
        section(
            f"…{len(rest)} more team{'s' if len(rest) != 1 else ''}, not shown here: "
            + join_within(named, MORE_TEAMS_CHARS, sep=" · ")
        ),
    ]
    return blocks


def _ask_me() -> list[Block]:
    examples = "\n".join(f"• “{q}”" for q in QUESTION_EXAMPLES)
    return [
        divider(),
        section(
            "*Ask me*\nMention me in a channel, DM me, or use `/ops`. Plain questions work:\n"
            + examples
        ),
        context("`/ops help` lists every command."),
    ]


def render_home(data: HomeData) -> dict[str, Any]:
    """The Home tab of `data.user_id`: pure, within the 100-block limit."""
    top: list[Block] = [header("Switchboard")]
    if data.in_no_team:
        top.append(
            section(
                "You are in no team of ops.yml yet, so here is every team. Ask an admin to add "
                "you under `teams:` to see your own teams first."
            )
        )
    else:
        names = join_within([f"*{escape(t.name)}*" for t in data.teams], MORE_TEAMS_CHARS)
        top.append(section(f"Your teams at a glance: {names}."))
    top.append(_request_buttons())
    top += _approvals(data)
    tail = _ask_me()
    if data.problems:
        problems = join_within([escape(p) for p in dict.fromkeys(data.problems)], 2500, sep="; ")
        tail.insert(0, context(":hourglass: Partly loaded: " + problems))
    room = VIEW_BLOCKS_MAX - len(top) - len(tail)
    blocks = top + _teams(data, room) + tail
    # The Home tab has no message size limit, only its 100 blocks.
    return {"type": "home", "blocks": fit_message(blocks, limit=VIEW_BLOCKS_MAX, max_chars=None)}


def render_welcome() -> dict[str, Any]:
    """The Home tab without ops.yml: what Switchboard does and the commands it answers."""
    lines = [f"`/ops {s.usage}` — {s.summary}" for s in COMMANDS]
    blocks = [
        header("Switchboard"),
        section(
            "Pipelines, models and cloud spend in one place. Ask me with `/ops`, a mention or a DM."
        ),
        divider(),
        section("*Works today*\n" + "\n".join(lines)),
    ]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}
