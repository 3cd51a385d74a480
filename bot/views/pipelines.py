"""Pipelines in Slack: the `/ops status` board (a page at a time), one pipeline's `/ops pipeline`
answer, and the compact board the Home tab and digests embed."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from bot.answers.entities import Unknown
from bot.answers.pipelines import PipelineBoard, PipelineDetail, RunCost, failing_streak
from bot.views.format import code, duration, link, money, partial_note, pct, slack_date
from bot.views.intent import suggestion_buttons
from bot.views.limits import (
    ANSWER_JSON_MAX,
    FIELD_TEXT_MAX,
    MESSAGE_BLOCKS_MAX,
    fit_message,
    join_within,
    json_size,
    truncate,
)
from bot.views.mrkdwn import context, escape, fields, header, section
from bot.views.owners import channel_ref
from bot.views.paging import MORE_RESERVE, more_blocks, pages_by_size
from bot.views.reply import Block, Reply
from bot.views.unknown import suggestion_commands
from integrations.models import PipelineRun, PipelineStatus, RunState

PER_PAGE = 12
RUNS_SHOWN = 10
ERROR_SHORT = 160  # characters of an error in a board line
ERROR_LONG = 900  # characters of an error in the pipeline answer
FEEDS_CHARS = 400  # characters of model names a board line lists ("Feeds `a`, `b` +9 more")

STATE_EMOJI = {
    RunState.success: ":white_check_mark:",
    RunState.failed: ":x:",
    RunState.running: ":arrows_counterclockwise:",
    RunState.queued: ":hourglass_flowing_sand:",
    RunState.cancelled: ":no_entry_sign:",
    RunState.skipped: ":fast_forward:",
}
GROUP_EMOJI = {
    "failing": ":red_circle:",
    "late": ":hourglass:",
    "running": ":arrows_counterclockwise:",
}


def _plain(text: str) -> str:
    """A name for plain-text places (headers): no angle brackets at all."""
    return text.replace("<", "‹").replace(">", "›")


def _one_line(text: str, limit: int) -> str:
    return escape(truncate(" ".join(text.split()), limit))


def _code_block(text: str, limit: int) -> str:
    body = escape(truncate(text.strip(), limit)).replace("```", "'''")
    return f"```{body}```"


def _of_pipelines(n: int) -> str:
    return f"{n} pipeline{'s' if n != 1 else ''}"


def board_headline(board: PipelineBoard) -> str:
    """'3 failing, 1 late, 2 running, 35 healthy of 41 pipelines' — the answer in one line."""
    where = f" of *{escape(board.team)}*" if board.team else ""
    if board.total == 0:
        if board.problems:
            return f":warning: I could not read any pipeline{where}: no orchestrator answered."
        return f"No pipelines{where} found in the orchestrators."
    counts = [
        (len(board.failing), "failing"),
        (len(board.late), "late"),
        (len(board.running), "running"),
    ]
    if not any(n for n, _ in counts):
        return f":large_green_circle: All {_of_pipelines(board.total)}{where} are healthy."
    emoji = ":red_circle:" if board.failing else ":large_yellow_circle:"
    parts = [f"*{n} {word}*" for n, word in counts if n]
    parts.append(f"{len(board.healthy)} healthy")
    return f"{emoji} {', '.join(parts)} of {_of_pipelines(board.total)}{where}."


def _links(run: PipelineRun) -> str:
    pairs = ((run.url, "run"), (run.log_url, "log"))
    return " · ".join(link(url, label) for url, label in pairs if url)


def _feeds(board: PipelineBoard, name: str) -> str:
    models = board.models_fed_by(name)
    return ("\nFeeds " + join_within([code(m) for m in models], FEEDS_CHARS)) if models else ""


def _title(board: PipelineBoard, status: PipelineStatus, group: str) -> str:
    name = status.pipeline.name
    owner = board.owner_of(name)
    team = f" · {escape(owner)}" if owner else " · _no owner in ops.yml_"
    return f"{GROUP_EMOJI[group]} *{code(name)}*{team}"


def failing_text(board: PipelineBoard, status: PipelineStatus, tz: tzinfo, *, short: bool) -> str:
    streak = failing_streak(status.runs)
    last = streak[0]
    task = f" on {code(last.failed_task)}" if last.failed_task else ""
    when = slack_date(last.ended_at or last.started_at or last.scheduled_for, tz)
    text = f"{_title(board, status, 'failing')}\nFailed{task} {when}"
    if len(streak) > 1:
        text += f" · {len(streak)} runs in a row"
    if links := _links(last):
        text += f" · {links}"
    if short:
        return text
    if last.error:
        text += f"\n> {_one_line(last.error, ERROR_SHORT)}"
    return text + _feeds(board, status.pipeline.name)


def late_text(board: PipelineBoard, status: PipelineStatus, tz: tzinfo, *, short: bool) -> str:
    due = slack_date(status.expected_by, tz) if status.expected_by else "its SLA"
    success = (
        f"last success {slack_date(status.last_success_at, tz)}"
        if status.last_success_at
        else "no success in the runs read"
    )
    text = f"{_title(board, status, 'late')}\nDue by {due} · {success}"
    if status.pipeline.url:
        text += f" · {link(status.pipeline.url, 'open')}"
    return text if short else text + _feeds(board, status.pipeline.name)


def running_text(board: PipelineBoard, status: PipelineStatus, tz: tzinfo, now: datetime) -> str:
    run = status.last_run
    started = run.started_at if run else None
    text = f"{_title(board, status, 'running')}\nRunning since {slack_date(started, tz)}"
    if started:
        text += f" ({duration(now - started)})"
    if run and (links := _links(run)):
        text += f" · {links}"
    return text


def _item(
    board: PipelineBoard, status: PipelineStatus, tz: tzinfo, *, short: bool, now: datetime
) -> str:
    if status in board.failing:
        return failing_text(board, status, tz, short=short)
    if status in board.late:
        return late_text(board, status, tz, short=short)
    return running_text(board, status, tz, now)


def _group_of(board: PipelineBoard, status: PipelineStatus) -> str:
    if status in board.failing:
        return "Failing"
    return "Late (SLA missed)" if status in board.late else "Running"


def render_status(
    board: PipelineBoard, *, now: datetime, tz: tzinfo, command: str = "status", page: int = 0
) -> Reply:
    """The `/ops status` answer: the counts in one line, then each failing, late and running
    pipeline with its evidence, a page at a time (at most PER_PAGE, fewer when they are long);
    healthy ones as a count."""
    headline = board_headline(board)
    title = "Pipeline status" + (f" · {_plain(board.team)}" if board.team else "")
    top: list[Block] = [header(title), section(headline)]
    end: list[Block] = []
    if partial := partial_note(board.problems):
        end.append(partial)
    items = board.attention
    texts = [_item(board, status, tz, short=False, now=now) for status in items]
    groups = [_group_of(board, status) for status in items]
    # Sized with their group line, which each page repeats for the group it starts in.
    chunks = [[context(f"*{g}*"), section(t)] for g, t in zip(groups, texts, strict=True)]
    room = ANSWER_JSON_MAX - json_size(top + end) - MORE_RESERVE - 200
    pages = pages_by_size(
        chunks, max_chars=room, max_blocks=min(PER_PAGE * 2, MESSAGE_BLOCKS_MAX - 8)
    )
    span = pages[min(max(page, 0), len(pages) - 1)] if items else range(0)
    blocks = top
    group = None
    for index in span:
        if groups[index] != group:
            group = groups[index]
            blocks.append(context(f"*{group}*"))
        blocks.append(section(texts[index]))
    more = span.stop < len(items)
    if board.healthy and not more:
        blocks.append(context(f":white_check_mark: {len(board.healthy)} healthy, not listed."))
    if more:
        blocks += more_blocks(
            command=command, page=pages.index(span), shown=span.stop, total=len(items)
        )
    return Reply(text=headline, blocks=fit_message(blocks + end))


def pipeline_board_blocks(
    board: PipelineBoard, *, limit: int = 5, tz: tzinfo | None = None
) -> list[Block]:
    """Headline and up to `limit` one-line problems (failing, then late, then running), for the
    Home tab and digests; never more than `limit` + 3 blocks."""
    zone = tz or UTC
    blocks: list[Block] = [section(board_headline(board))]
    items = board.attention
    blocks += [
        section(_item(board, s, zone, short=True, now=board.now)) for s in items[: max(limit, 0)]
    ]
    if len(items) > limit:
        blocks.append(context(f"…and {len(items) - limit} more: `/ops status`."))
    if partial := partial_note(board.problems):
        blocks.append(partial)
    return blocks


# -- one pipeline -------------------------------------------------------------------------------
def render_unknown_pipeline(found: Unknown) -> Reply:
    """An unknown pipeline name: the closest names, each a button showing that pipeline."""
    text = found.message
    blocks: list[Block] = [section(text)]
    if options := suggestion_commands(found, f"pipeline {found.asked}"):
        blocks.append(suggestion_buttons(options))
    return Reply(text=text, blocks=blocks)


def detail_headline(detail: PipelineDetail, tz: tzinfo) -> str:
    status = detail.status
    name = f"*{code(detail.name)}*"
    if status is None:
        return f":warning: I could not reach the orchestrators to look up {name}."
    streak = detail.streak
    if streak:
        task = f" on {code(streak[0].failed_task)}" if streak[0].failed_task else ""
        runs = "the last run" if len(streak) == 1 else f"the last {len(streak)} runs"
        return f":red_circle: {name} is failing: {runs} failed{task}."
    if status.late:
        due = slack_date(status.expected_by, tz) if status.expected_by else "its SLA"
        return f":hourglass: {name} is late: a successful run was due by {due}."
    last = status.last_run
    if last is not None and last.state is RunState.running:
        since = slack_date(last.started_at, tz)
        return f":arrows_counterclockwise: {name} is running (since {since})."
    if status.pipeline.paused:
        return f":double_vertical_bar: {name} is paused."
    if status.last_success_at:
        success = slack_date(status.last_success_at, tz)
        return f":large_green_circle: {name} is healthy: last success {success}."
    return f"{name} has no finished runs yet."


def _owner(detail: PipelineDetail) -> str:
    if not detail.team:
        return "no team in ops.yml"
    text = f"{escape(detail.team_name or detail.team)}"
    return text + (f" · {channel_ref(detail.channel)}" if detail.channel else "")


def _schedule(status: PipelineStatus) -> str:
    pipeline = status.pipeline
    text = code(pipeline.schedule) if pipeline.schedule else "unscheduled"
    if pipeline.schedule_timezone:
        text += f" ({escape(pipeline.schedule_timezone)})"
    if pipeline.sla:
        text += f" · SLA {duration(pipeline.sla)}"
    return text


def _stats(detail: PipelineDetail) -> str:
    if detail.success_rate is None:
        return "no finished runs yet"
    return (
        f"{pct(detail.success_rate)} of the last {detail.counted_runs} runs succeeded · "
        f"median {duration(detail.median_duration)}"
    )


def _lineage(detail: PipelineDetail, limit: int = FIELD_TEXT_MAX - 20) -> str:
    """`trains a; feeds b, c +117 more`: within one section field (2000 characters)."""
    lists = [(verb, names) for verb, names in (("trains", detail.trains), ("feeds", detail.feeds))]
    lists = [(verb, names) for verb, names in lists if names]
    parts = []
    for verb, names in lists:
        room = limit // len(lists) - len(verb) - 3
        parts.append(f"{verb} " + join_within([code(m) for m in names], room))
    return "; ".join(parts) or "no models in ops.yml lineage"


def cost_text(cost: RunCost) -> str:
    month = money(cost.month_spend, cost.currency)
    text = f"*{month}* this month"
    if cost.failed_runs:
        failed = money(cost.failed_spend, cost.currency)
        text += (
            f"; its {cost.failed_runs} failed run{'s' if cost.failed_runs > 1 else ''} "
            f"(of {cost.runs}) cost about *{failed}*, estimated from run time "
            "(the month's spend × failed run time ÷ all run time)"
        )
    else:
        text += f"; no failed runs among {cost.runs} this month"
    if cost.counted_since:
        text += f" — runs counted since {cost.counted_since.strftime('%d %b')}"
    return text + "."


def _run_line(run: PipelineRun, tz: tzinfo) -> str:
    moment = run.started_at or run.scheduled_for
    line = f"{STATE_EMOJI.get(run.state, '•')} {slack_date(moment, tz)} · {duration(run.duration)}"
    if run.state is RunState.failed and run.failed_task:
        line += f" · failed on {code(run.failed_task)}"
    if run.url:
        line += f" · {link(run.url, 'run')}"
    return line


def _failure_block(run: PipelineRun, tz: tzinfo) -> Block:
    task = f" on {code(run.failed_task)}" if run.failed_task else ""
    text = f"*Last run failed*{task} {slack_date(run.ended_at or run.started_at, tz)}"
    if links := _links(run):
        text += f" · {links}"
    if run.error:
        text += "\n" + _code_block(run.error, ERROR_LONG)
    return section(text)


def render_pipeline(detail: PipelineDetail, *, tz: tzinfo) -> Reply:
    """The `/ops pipeline NAME` answer: state, owner, lineage, run cost, failure, recent runs."""
    headline = detail_headline(detail, tz)
    blocks: list[Block] = [header(f"Pipeline {_plain(detail.name)}"), section(headline)]
    status = detail.status
    if status is not None:
        items = [
            f"*Owner*\n{_owner(detail)}",
            f"*Models*\n{_lineage(detail)}",
            f"*Schedule*\n{_schedule(status)}",
            f"*Runs*\n{_stats(detail)}",
        ]
        blocks.append(fields(items))
        if detail.cost is not None:
            blocks.append(section(f"*Spend* {cost_text(detail.cost)}"))
        if failed := detail.failed_last:
            blocks.append(_failure_block(failed, tz))
        if status.runs:
            lines = [_run_line(r, tz) for r in status.runs[:RUNS_SHOWN]]
            blocks.append(section("*Recent runs*\n" + "\n".join(lines)))
        if status.pipeline.url:
            blocks.append(context(link(status.pipeline.url, f"Open in {status.pipeline.source}")))
    if partial := partial_note(detail.problems):
        blocks.append(partial)
    return Reply(text=headline, blocks=fit_message(blocks))
