"""A team's scorecard in Slack: pipelines, models, spend vs budget and incidents side by side,
then the evidence behind each (failing pipelines, unhealthy models, burn, open incidents)."""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal

from bot.answers.scorecard import ModelRow, TeamScorecard, TeamSpend
from bot.views.budgets import burn_text
from bot.views.format import code, money, partial_note, pct
from bot.views.incidents import incident_blocks
from bot.views.limits import ANSWER_JSON_MAX, MESSAGE_BLOCKS_MAX, fit_message, json_size, truncate
from bot.views.mrkdwn import context, escape, fields, header, section
from bot.views.owners import channel_ref
from bot.views.paging import more_blocks, page_blocks
from bot.views.pipelines import PER_PAGE, failing_text, late_text
from bot.views.reply import Block, Reply
from integrations.models import PipelineStatus

EVIDENCE = 5  # lines per domain; more pipelines page with "More", other lists name their command


def _amount(value: Decimal | float | int, currency: str) -> str:
    return money(value, currency, cents=False)


def _spend_state(spend: TeamSpend) -> tuple[str, str]:
    """(emoji, words) for the spend at a glance."""
    line = spend.budget
    if line is None:
        return ":white_circle:", "no budget"
    if line.over:
        return ":red_circle:", "over budget"
    if line.at_risk:
        return ":red_circle:", "forecast over budget"
    if line.will_cross:
        return ":large_yellow_circle:", "on track, alert ahead"
    return ":large_green_circle:", "within budget"


def scorecard_headline(card: TeamScorecard) -> str:
    """'*ML Platform*: 1 failing pipeline, 1 unhealthy model, forecast over budget, 0 incidents'."""
    board = card.pipelines
    problems = []
    if board.failing:
        problems.append(f"{len(board.failing)} failing pipeline{'s' * (len(board.failing) > 1)}")
    if board.late:
        problems.append(f"{len(board.late)} late pipeline{'s' * (len(board.late) > 1)}")
    if bad := len(card.unhealthy_models):
        problems.append(f"{bad} unhealthy model{'s' * (bad > 1)}")
    _, spend_words = _spend_state(card.spend)
    if card.spend.budget is not None and card.spend.budget.at_risk:
        problems.append(spend_words)
    if card.incidents:
        n = len(card.incidents)
        problems.append(f"{n} open incident{'s' * (n > 1)}")
    who = f"*{escape(card.name)}*"
    if not problems:
        return f":large_green_circle: {who}: all clear — pipelines, models, spend and incidents."
    return f":red_circle: {who}: " + ", ".join(problems) + "."


def _pipelines_field(card: TeamScorecard) -> str:
    board = card.pipelines
    ok = len(board.healthy) + len(board.running)
    emoji = (
        ":red_circle:"
        if board.failing
        else ":large_yellow_circle:"
        if board.late
        else ":large_green_circle:"
    )
    return (
        f"*Pipelines* ({board.total})\n{emoji} {len(board.failing)} failing · "
        f"{len(board.late)} late · {ok} ok"
    )


def _models_field(card: TeamScorecard) -> str:
    rows = card.models
    bad = len(card.unhealthy_models)
    unknown = sum(h is None for _, h in rows)
    emoji = ":red_circle:" if bad else ":large_green_circle:"
    text = f"*Models* ({len(rows)})\n{emoji} {bad} unhealthy · {len(rows) - bad - unknown} healthy"
    return text + (f" · {unknown} no data" if unknown else "")


def _spend_field(card: TeamScorecard) -> str:
    spend = card.spend
    emoji, words = _spend_state(spend)
    month = card.today.strftime("%B")
    spent = _amount(spend.spent_mtd, spend.currency)
    if spend.budget is None:
        return (
            f"*Spend* ({month})\n{emoji} {spent} so far · forecast "
            f"{_amount(spend.forecast, spend.currency)} · {words}"
        )
    line = spend.budget
    budget = _amount(line.budget.monthly, line.budget.currency)
    return (
        f"*Spend* ({month})\n{emoji} {spent} of {budget} ({pct(line.burn)}) · forecast "
        f"{_amount(line.forecast, spend.currency)} · {words}"
    )


def _incidents_field(card: TeamScorecard) -> str:
    n = len(card.incidents)
    emoji = (
        ":red_circle:"
        if any(i.severity == "critical" for i in card.incidents)
        else (":large_yellow_circle:" if n else ":large_green_circle:")
    )
    return f"*Incidents*\n{emoji} {n} open"


def _model_line(row: ModelRow) -> str:
    model, health = row
    reasons = "; ".join(health.problems) if health else "no health data"
    return f":warning: {code(model.name)} — {escape(truncate(reasons, 300))}"


def _problem_text(card: TeamScorecard, status: PipelineStatus, tz: tzinfo) -> str:
    board = card.pipelines
    if status in board.failing:
        return failing_text(board, status, tz, short=False)
    return late_text(board, status, tz, short=False)


def _more_pipelines(card: TeamScorecard, *, tz: tzinfo, command: str, page: int) -> Reply:
    """Page 1, 2 … of a scorecard: the pipelines needing attention past the first EVIDENCE."""
    headline = scorecard_headline(card)
    board = card.pipelines
    rest = [*board.failing, *board.late][EVIDENCE:]
    top: list[Block] = [
        header(f"Scorecard · {_plain(card.name)}"),
        section(headline),
        context(f"*Pipelines needing attention* (after the first {EVIDENCE})"),
    ]
    chunks = [[section(_problem_text(card, status, tz))] for status in rest]
    body = page_blocks(
        chunks,
        page=page,
        first_page=1,
        counted_before=EVIDENCE,
        command=command,
        max_chars=ANSWER_JSON_MAX - json_size(top),
        max_blocks=min(PER_PAGE + 2, MESSAGE_BLOCKS_MAX - len(top)),
    )
    return Reply(text=headline, blocks=fit_message(top + body))


def _plain(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def render_scorecard(
    card: TeamScorecard, *, tz: tzinfo, command: str | None = None, page: int = 0
) -> Reply:
    """The `/ops status team:T` answer: the four domains at a glance, then the evidence; past
    EVIDENCE pipelines needing attention, "More" (`command` again, `page` + 1) lists the rest."""
    slug = escape(card.team)
    command = command or f"status team:{card.team}"
    if page > 0 and len(card.pipelines.failing) + len(card.pipelines.late) > EVIDENCE:
        return _more_pipelines(card, tz=tz, command=command, page=page)
    headline = scorecard_headline(card)
    blocks: list[Block] = [
        header(f"Scorecard · {_plain(card.name)}"),
        section(headline),
        fields(
            [
                _pipelines_field(card),
                _models_field(card),
                _spend_field(card),
                _incidents_field(card),
            ]
        ),
    ]
    board = card.pipelines
    problems = [*board.failing, *board.late]
    if problems:
        blocks.append(context("*Pipelines needing attention*"))
        blocks += [section(_problem_text(card, status, tz)) for status in problems[:EVIDENCE]]
        if len(problems) > EVIDENCE:
            blocks += more_blocks(command=command, page=0, shown=EVIDENCE, total=len(problems))
    if unhealthy := card.unhealthy_models:
        blocks.append(context("*Unhealthy models*"))
        lines = [_model_line(row) for row in unhealthy[:EVIDENCE]]
        if len(unhealthy) > EVIDENCE:
            rest = len(unhealthy) - EVIDENCE
            lines.append(f"…and {rest} more: `/ops models team:{slug}` lists them all.")
        blocks.append(section("\n".join(lines)))
    if card.spend.budget is not None:
        blocks.append(context("*Budget*"))
        blocks.append(section(burn_text(card.spend.budget)))
    if card.incidents:
        blocks.append(context("*Open incidents*"))
        blocks += incident_blocks(
            card.incidents, tz=tz, limit=EVIDENCE, more_command=f"incidents team:{card.team}"
        )
    channel = f"Team channel {channel_ref(card.channel)} · " if card.channel else ""
    blocks.append(
        context(
            f"{channel}More: `/ops models team:{slug}` · `/ops spend team:{slug}` · "
            f"`/ops incidents team:{slug}`"
        )
    )
    if partial := partial_note(card.problems):
        blocks.append(partial)
    return Reply(text=headline, blocks=fit_message(blocks))
