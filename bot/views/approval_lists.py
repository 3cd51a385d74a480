"""`/ops approvals` (pure Block Kit renderers): the requests waiting for me and mine, a line each,
a page at a time; the same lines show on App Home and in digests."""

from __future__ import annotations

from datetime import tzinfo

from bot.approvals.types import RequestSnapshot, RequestState
from bot.views.approval_cards import subject_text, who
from bot.views.format import slack_date
from bot.views.limits import truncate
from bot.views.mrkdwn import section
from bot.views.paging import more_blocks, page_of
from bot.views.reply import Block, Reply

LISTED = 10  # requests per list and page in `/ops approvals`
LINE_MAX = 280  # 10 lines and a title stay far inside a section's 3000 characters


STATE_EMOJI = {
    RequestState.pending: ":hourglass_flowing_sand:",
    RequestState.approved: ":white_check_mark:",
    RequestState.executing: ":gear:",
    RequestState.executed: ":white_check_mark:",
    RequestState.rejected: ":x:",
    RequestState.expired: ":alarm_clock:",
    RequestState.failed: ":warning:",
    RequestState.cancelled: ":no_entry_sign:",
}


def list_line(snapshot: RequestSnapshot, tz: tzinfo, *, mine: bool) -> str:
    emoji = STATE_EMOJI.get(snapshot.state, "")
    head = f"{emoji} *#{snapshot.id}* {subject_text(snapshot)}"
    if mine:
        tail = f"{snapshot.state.value}"
        if snapshot.state == RequestState.pending:
            tail += (
                f", {len(snapshot.approvals)} of {snapshot.quorum} approvals, expires "
                f"{slack_date(snapshot.expires_at, tz)}"
            )
        return f"{head} — {tail}"
    return (
        f"{head} — asked by {who(snapshot.requester)}, expires "
        f"{slack_date(snapshot.expires_at, tz)}"
    )


def _list_section(
    title: str, items: list[RequestSnapshot], tz: tzinfo, *, mine: bool, empty: str, page: int
) -> tuple[Block, bool]:
    """One page of a list, and whether more pages follow."""
    shown, more = page_of(items, page, LISTED)
    lines = [truncate(list_line(s, tz, mine=mine), LINE_MAX) for s in shown]
    if page and not shown and items:
        lines = [f"_all {len(items)} shown on earlier pages_"]
    first = page * LISTED + 1
    span = f"{first}–{first + len(shown) - 1} of {len(items)}" if page and shown else len(items)
    body = "\n".join(lines) or f"_{empty}_"
    return section(f"*{title}* ({span})\n{body}"), more


def render_approvals(
    waiting: list[RequestSnapshot],
    mine: list[RequestSnapshot],
    *,
    tz: tzinfo,
    command: str = "approvals",
    page: int = 0,
) -> Reply:
    """Requests waiting for me and mine, a page of each at a time ("More" for the rest)."""
    waiting_block, more_waiting = _list_section(
        "Waiting for you",
        waiting,
        tz,
        mine=False,
        empty="Nothing waits for your approval.",
        page=page,
    )
    mine_block, more_mine = _list_section(
        "Your requests",
        mine,
        tz,
        mine=True,
        empty="You have made no requests. Try /ops promote or /ops budget-increase.",
        page=page,
    )
    blocks = [waiting_block, mine_block]
    if more_waiting or more_mine:
        total = len(waiting) + len(mine)
        shown = min(len(waiting), (page + 1) * LISTED) + min(len(mine), (page + 1) * LISTED)
        blocks += more_blocks(command=command, page=page, shown=shown, total=total)
    text = f"{len(waiting)} request(s) wait for you; you made {len(mine)}."
    return Reply(text=text, blocks=blocks)
