"""Digests in Slack: the list (`/ops digest list`), the preview of one digest exactly as it would be
posted, and the compact blocks of one section board (shared with App Home)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from bot.answers.digests import SectionBoard
from bot.views.approval_lists import list_line
from bot.views.budgets import budget_board_blocks
from bot.views.format import code, local_time, money, pct, signed_pct, slack_date
from bot.views.incidents import incident_blocks, incidents_headline
from bot.views.limits import (
    ANSWER_JSON_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    fit_message,
    join_within,
    json_size,
    lines_within,
    truncate,
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
    "idle": "Idle assets",
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


# -- the composed digest (bot/digests/compose.py): root, thread replies, quiet line -------------

HEADLINE_ITEMS = 8  # headline bullets in the root; the rest are in the first thread reply
HIGHLIGHT_MODELS = 3  # models named in the root's cost-per-model line
DRILL_TEAMS = 5  # drill-down buttons answer at most this many teams (one ephemeral each)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _since(previous_at: datetime | None, tz: tzinfo) -> str:
    return f"since {local_time(previous_at, tz)}" if previous_at else "since the last digest"


def change_line(change: Any, *, tz: tzinfo, team_names: dict[str, str] | None = None) -> str:
    """One headline bullet (a headline.Change), escaped."""
    kind, subject = change.kind, escape(change.subject)
    if kind == "failure":
        runs = "last run failed" if change.count == 1 else f"{change.count} failed runs in a row"
        return f":red_circle: `{subject}` failing ({runs})"
    if kind == "recovery":
        return f":large_green_circle: `{subject}` recovered"
    if kind == "model_over":
        return f":warning: model `{subject}` over a threshold: {escape(change.detail)}"
    if kind == "model_back":
        return f":white_check_mark: model `{subject}` back within its thresholds"
    if kind == "spend_mover":
        verb = "up" if (change.change or 0) > 0 else "down"
        return (
            f":chart_with_upwards_trend: {subject} spend {verb} {signed_pct(change.change)} "
            f"to {money(change.amount or 0, change.detail)}"
        )
    if kind == "budget":
        subject = escape((team_names or {}).get(change.subject, change.subject))
        return (
            f":money_with_wings: {subject}'s budget is {escape(change.detail)} "
            f"({pct(change.change or 0)} used)"
        )
    if kind == "approvals":
        new = int(change.amount or 0)
        return (
            f":ballot_box_with_check: {change.count} approval"
            f"{'s' if change.count != 1 else ''} waiting ({new} new): `/ops approvals`"
        )
    if kind == "incident_opened":
        return f":rotating_light: incident opened: {subject} ({escape(change.detail)})"
    if kind == "incident_resolved":
        return f":white_check_mark: incident no longer open: {subject}"
    return subject


def _cost_line(costs: Sequence[Any], currency: str) -> str | None:
    shown = [c for c in costs if c.current][:HIGHLIGHT_MODELS]
    if not shown:
        return None
    parts = [
        f"`{escape(c.model)}` {money(c.current, currency)} ({signed_pct(c.change)})" for c in shown
    ]
    return "Cost per model, last 7 days: " + ", ".join(parts)


def _lineage_lines(facts: Any, config: Any) -> list[str]:
    """ "`nightly_orders` failed twice in a row and feeds `recs`, which drifted": a failing
    pipeline joined with the health of the models it trains or feeds (ops.yml lineage)."""
    health = {m.name: h for m, h, _t in facts.all_models}
    lines = []
    from bot.answers.pipelines import failing_streak  # local: views import no answer logic

    # A failing pipeline of any team counts when it feeds a model in the digest's scope.
    board = facts.pipeline_board
    for status in board.failing if board is not None else []:
        name = status.pipeline.name
        fed = config.models_fed_by(name)
        in_scope = facts.in_scope(config.team_of_pipeline(name)) or any(
            facts.in_scope(config.team_of_model(m)) for m in fed
        )
        if not fed or not in_scope:
            continue
        count = len(failing_streak(status.runs))
        sick = [(m, health[m]) for m in fed if health.get(m) is not None and health[m].problems]
        head = f"`{escape(name)}` failed {_times(count)} and feeds "
        if sick:
            names = ", ".join(f"`{escape(m)}`, which {_drifted(h.problems)}" for m, h in sick)
            lines.append(head + names)
        else:
            lines.append(head + ", ".join(f"`{escape(m)}`" for m in fed) + " (still healthy)")
    return lines


def _drifted(problems: Sequence[str]) -> str:
    text = "; ".join(problems)
    word = "drifted" if any(p.startswith("drift") for p in problems) else "is unhealthy"
    return f"{word} ({escape(text)})"


def highlight_lines(facts: Any, config: Any) -> list[str]:
    """The cross-domain lines: failed-run spend, failing pipelines and the models they feed,
    cost per model and its change."""
    lines: list[str] = []
    if facts.failed_spend:
        costly = [f for f in facts.failed_spend if f.failed > 0][:3]
        worst = ", ".join(f"`{escape(f.pipeline)}` {money(f.failed, f.currency)}" for f in costly)
        since = (
            "in the last 7 days"
            if facts.failed_from in (None, facts.window.start)
            else f"since {facts.failed_from:%d %b} (the runs read)"
        )
        lines.append(
            f":fire: Failed runs cost about *{money(facts.failed_total, facts.currency)}* "
            f"{since}" + (f" ({worst})" if worst else "")
        )
    lines += [f":link: {line}" for line in _lineage_lines(facts, config)]
    cost = _cost_line(facts.model_costs, facts.currency)
    if cost:
        lines.append(f":moneybag: {cost}")
    return lines


def _budget_summary(lines: Sequence[Any], team_names: dict[str, str]) -> str:
    if not lines:
        return "no budgets set"
    parts = []
    for line in lines[:4]:
        state = "over" if line.over else "at risk" if line.at_risk else "on track"
        parts.append(f"{escape(team_names.get(line.team, line.team))} {pct(line.burn)} ({state})")
    more = f" +{len(lines) - 4} more" if len(lines) > 4 else ""
    return ", ".join(parts) + more


def section_summary(name: str, facts: Any, team_names: dict[str, str], idle: Sequence[Any]) -> str:
    """One line per configured section for the root; details are in the thread."""
    title = escape(TITLES.get(name, name).split(" (")[0])
    if name in facts.missing or (name == "pipelines" and facts.pipeline_board is None):
        return f"*{title}*: {escape(facts.missing.get(name, 'not available'))}"
    if name == "pipelines":
        healthy = len(facts.statuses) - len(facts.failing) - len(facts.late)
        return (
            f"*{title}*: {len(facts.failing)} failing, {len(facts.late)} late, "
            f"{healthy} other of {len(facts.statuses)}"
        )
    if name == "models":
        sick = [m for m, h, _t in facts.models if h is not None and h.problems]
        return f"*{title}*: {len(sick)} unhealthy of {len(facts.models)}"
    if name == "spend":
        if not facts.spend:
            return f"*{title}*: not available"
        return "\n".join(f"*{title}*: {spend_headline(answer)}" for _t, answer in facts.spend)
    if name == "budgets":
        return f"*{title}*: {_budget_summary(facts.budgets, team_names)}"
    if name == "approvals":
        return f"*{title}*: {len(facts.approvals)} waiting"
    if name == "incidents":
        return f"*{title}*: {len(facts.incidents)} open or acknowledged"
    if name == "idle":
        total = sum((a.cost for a in idle), Decimal(0))
        models = sum(1 for a in idle if a.kind == "model")
        return (
            f"*Idle assets*: {models} model{'s' if models != 1 else ''} without traffic, "
            f"{len(idle) - models} idle pipeline{'s' if len(idle) - models != 1 else ''}, "
            f"{money(total, facts.currency)} in the last 7 days"
        )
    return f"*{title}*"


def digest_scope(digest: Any, team_names: dict[str, str]) -> str:
    if not digest.teams:
        return "every team"
    return ", ".join(escape(team_names.get(t, t)) for t in digest.teams)


def late_note(late_by: Any, scheduled: datetime, tz: tzinfo) -> str:
    minutes = max(1, round(late_by.total_seconds() / 60))
    span = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"
    return (
        f":hourglass_flowing_sand: Late by {span}: this digest was due {local_time(scheduled, tz)}."
    )


def drill_buttons(digest_name: str) -> Block:
    from bot.views.ids import Action, BlockId
    from bot.views.mrkdwn import actions, button

    return actions(
        button("Spend by service", action_id=Action.digest_spend_by_service, value=digest_name),
        button("Failing pipelines", action_id=Action.digest_failing_pipelines, value=digest_name),
        block_id=BlockId.digest_drill,
    )


def digest_root(
    *,
    digest: Any,
    facts: Any,
    config: Any,
    changes: Sequence[Any],
    idle: Sequence[Any],
    previous_at: datetime | None,
    first: bool,
    late_by: Any,
    has_chart: bool,
    team_names: dict[str, str],
    tz: tzinfo,
) -> list[Block]:
    """The root message: headline of what changed, cross-domain highlights, one line per
    section, drill-down buttons; ≤ 50 blocks and ≤ 3000 characters per section."""
    blocks: list[Block] = [header(f"{digest.name} · {local_time(facts.now, tz)}")]
    notes = [f"Teams: {digest_scope(digest, team_names)}"]
    if facts.window.data_ends is not None:
        notes.append(f"cost data ends {facts.window.data_ends:%d %b}: cost figures run to that day")
    if late_by is not None:
        blocks.append(context(late_note(late_by, facts.now - late_by, tz)))
    blocks.append(context(" · ".join(notes)))
    title = "Needs attention" if first else f"What changed {_since(previous_at, tz)}"
    if changes:
        room = SECTION_TEXT_MAX - 100 - len(title)
        shown: list[str] = []
        for change in changes[:HEADLINE_ITEMS]:
            line = truncate(f"• {change_line(change, tz=tz, team_names=team_names)}", 400)
            if sum(len(x) + 1 for x in shown) + len(line) > room:
                break
            shown.append(line)
        if len(changes) > len(shown):
            shown.append(f"…and {len(changes) - len(shown)} more in the thread")
        blocks.append(section(f"*{title}*\n" + "\n".join(shown)))
    else:
        what = (
            "Nothing needs attention." if first else f"Nothing changed {_since(previous_at, tz)}."
        )
        blocks.append(section(f"*{title}*\n{what}"))
    highlights = highlight_lines(facts, config)
    if highlights:
        body = lines_within([f"• {h}" for h in highlights], SECTION_TEXT_MAX - 100)
        blocks.append(section(f"*Across domains*\n{body}"))
    blocks.append(divider())
    summaries = [section_summary(s, facts, team_names, idle) for s in digest.sections]
    blocks.append(section(lines_within(summaries, SECTION_TEXT_MAX)))
    if facts.missing:
        parts = ", ".join(f"{escape(k)} ({escape(v)})" for k, v in sorted(facts.missing.items()))
        blocks.append(context(f":warning: Partial: not read this time: {parts}"))
    blocks.append(drill_buttons(digest.name))
    tail = "Details per section are in the thread"
    blocks.append(context(tail + (", with the spend chart." if has_chart else ".")))
    return fit_message(blocks)


def details_reply(
    *,
    facts: Any,
    changes: Sequence[Any],
    tz: tzinfo,
    title: str,
    team_names: dict[str, str] | None = None,
) -> list[Block]:
    """The first thread reply: every change, cost per model and failed-run spend in full."""
    blocks: list[Block] = [section(f"*{escape(title)}*")]
    if changes:
        lines = [f"• {change_line(c, tz=tz, team_names=team_names)}" for c in changes]
        blocks.append(section(lines_within(lines, 2900)))
    if facts.model_costs:
        rows = [
            f"`{escape(c.model)}` {money(c.current, c.currency)} "
            f"(7 days before: {money(c.previous, c.currency)}, {signed_pct(c.change)})"
            for c in facts.model_costs
        ]
        blocks.append(
            section("*Cost per model* (lineage share + serving)\n" + lines_within(rows, 2800))
        )
    if facts.failed_spend:
        rows = [
            f"`{escape(f.pipeline)}` ~{money(f.failed, f.currency)} of {money(f.spend, f.currency)} "
            f"({f.failed_runs} of {f.runs} runs failed)"
            for f in facts.failed_spend
        ]
        blocks.append(section("*Spend on failed runs* (by run time)\n" + lines_within(rows, 2800)))
    return fit_message(blocks)


def section_reply(
    name: str,
    boards: Sequence[SectionBoard],
    *,
    team_names: dict[str, str],
    tz: tzinfo,
) -> list[Block]:
    """One section's boards (one per team in scope) as one thread reply."""
    several = len(boards) > 1
    blocks: list[Block] = [section(f"*{escape(TITLES.get(name, name))}*")]
    for board in boards:
        if several and board.team:
            blocks.append(context(f"*{escape(team_names.get(board.team, board.team))}*"))
        blocks += board_blocks(board, rows=ROWS, tz=tz)
    return fit_message(blocks)


def idle_reply(idle: Sequence[Any], *, days: int) -> list[Block]:
    blocks: list[Block] = [section("*Idle assets* (what each cost in the last 7 days)")]
    if not idle:
        blocks.append(section("Nothing idle: every model has traffic and every pipeline is read."))
        return blocks
    rows = [
        f"{a.kind} `{escape(a.name)}`: {escape(a.why)} · {money(a.cost, a.currency)}" for a in idle
    ]
    blocks.append(section(lines_within(rows, 2900)))
    blocks.append(
        context(f"Idle: no serving traffic, no success in {days} days, or output nobody reads.")
    )
    return blocks


def quiet_line(digest: Any, previous_at: datetime | None, tz: tzinfo) -> str:
    return f"{escape(digest.name)}: nothing changed {_since(previous_at, tz)}."


def render_preview(digest: Any, composed: Any) -> Reply:
    """`/ops digest preview NAME`: the composed root exactly as it posts, for the asker only,
    with what the thread will carry."""
    top = [context(f"Only you see this preview. Posts to {channel_ref(digest.channel)}.")]
    if composed is None:
        text = f"{digest.name}: nothing changed, so with `when_quiet: skip` nothing is posted."
        return Reply(text=text, blocks=[*top, section(escape(text))])
    thread = (
        f"In the thread: {len(composed.replies)} repl{'y' if len(composed.replies) == 1 else 'ies'}"
    )
    if composed.chart is not None:
        thread += f" and the spend chart ({escape(composed.chart.alt_text)})"
    blocks = fit_message([*top, *composed.blocks, context(thread)])
    return Reply(text=composed.text, blocks=blocks)


def drill_commands(digest: Any, action: str) -> list[str]:
    """The `/ops` questions a drill-down button asks: one per team of the digest (at most
    DRILL_TEAMS), or one for every team."""
    from bot.views.ids import Action

    base = "spend 7d by service" if action == Action.digest_spend_by_service else "status"
    teams = list(digest.teams or [])[:DRILL_TEAMS]
    return [f"{base} team:{t}" for t in teams] if teams else [base]
