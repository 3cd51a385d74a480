"""Budget burn in Slack: the `/ops budget` board, and compact blocks the Home tab and digests reuse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.answers.budgets import BudgetBoard, BudgetLine
from bot.views.format import money, partial_note, pct
from bot.views.limits import (
    ANSWER_JSON_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    fit_message,
    join_within,
    json_size,
)
from bot.views.mrkdwn import context, escape, header, section
from bot.views.paging import page_blocks
from bot.views.reply import Block, Reply

BAR_CELLS = 10
HEADLINE_NAMED = 3  # at-risk teams named in the headline; every one has its own line below
NOTE_CHARS = 1200  # characters of team names in a note ("No budget: …")


def burn_bar(fraction: float) -> str:
    """`▰▰▰▰▰▰▰▰▰▱`: burn at a glance (full when at or over budget)."""
    filled = max(0, min(BAR_CELLS, round(fraction * BAR_CELLS)))
    return "`" + "▰" * filled + "▱" * (BAR_CELLS - filled) + "`"


def _day(day: date) -> str:
    return day.strftime("%a %d %b")


def _thresholds(fractions: tuple[float, ...]) -> str:
    return ", ".join(pct(f) for f in fractions)


def _amount(value: Decimal, currency: str) -> str:
    return money(value, currency, cents=False)


def status_emoji(line: BudgetLine) -> str:
    if line.at_risk:
        return ":red_circle:"
    if line.will_cross:
        return ":large_yellow_circle:"
    return ":large_green_circle:"


def risk_text(line: BudgetLine, *, closed: bool = False) -> str:
    """The breach risk in words: over since, will breach on ~DATE, or on track; for a month that
    has ended (`closed`), only whether it went over."""
    if line.partial and not line.spent_mtd:
        return "spend unknown: the cost source did not answer"
    if line.over:
        since = f" since {_day(line.breach_on)}" if line.breach_on else ""
        return f"*over budget*{since}"
    if closed:
        return "within budget"
    if line.at_risk:
        when = f" on ~{_day(line.breach_on)}" if line.breach_on else " by month end"
        return f"*will breach{when}* at the current run rate"
    if line.will_cross:
        return f"on track; will cross the {_thresholds(line.will_cross)} alert by month end"
    return "on track"


def burn_text(line: BudgetLine, *, closed: bool = False, month: str | None = None) -> str:
    """Spent of budget, forecast and risk, in two lines (team name left to the caller). A month
    that has ended (`closed`) has no forecast: what was spent is final. `month` names the month
    the figures are of (default: this month)."""
    cur = line.budget.currency
    spent = (
        f"{burn_bar(line.burn)} {_amount(line.spent_mtd, cur)} of "
        f"{_amount(line.budget.monthly, cur)} spent ({pct(line.burn)})"
    )
    if not closed:
        spent += f" · forecast *{_amount(line.forecast, cur)}* ({pct(line.forecast_burn)})"
    text = f"{spent}\n{status_emoji(line)} {risk_text(line, closed=closed)}"
    if line.crossed:
        text += f" · alerts crossed: {_thresholds(line.crossed)}"
    if line.other_currencies:
        extra = ", ".join(
            money(v, c, cents=False) for c, v in sorted(line.other_currencies.items())
        )
        when = f"in {month}" if month else "this month"
        text += f"\n_Also {extra} {when}, not counted against a {cur} budget._"
    return text


def board_headline(board: BudgetBoard) -> str:
    """'1 of 3 teams will go over budget this month: ml-platform (forecast $68,900 of $60,000)'."""
    lines = board.lines
    if not lines:
        if board.without_budget:
            teams = join_within([f"*{escape(t)}*" for t in board.without_budget], NOTE_CHARS)
            verb = "has" if len(board.without_budget) == 1 else "have"
            return f"{teams} {verb} no monthly budget: add one under `budgets:` in ops.yml."
        return "No team has a monthly budget yet: add them under `budgets:` in ops.yml."
    risky = board.at_risk
    if len(lines) == 1:
        line = lines[0]
        state = "will go over budget" if line.at_risk else "is on track"
        return f"*{escape(line.team)}* {state} this month ({_forecast_of(line)})."
    if not risky:
        return f"All {len(lines)} teams are on track to stay within budget this month."
    named = ", ".join(
        f"*{escape(line.team)}* ({_forecast_of(line)})" for line in risky[:HEADLINE_NAMED]
    )
    if len(risky) > HEADLINE_NAMED:
        named += f" and {len(risky) - HEADLINE_NAMED} more"
    return f"{len(risky)} of {len(lines)} teams will go over budget this month: {named}"


def _forecast_of(line: BudgetLine) -> str:
    cur = line.budget.currency
    return f"forecast {_amount(line.forecast, cur)} of {_amount(line.budget.monthly, cur)}"


def _line_block(line: BudgetLine, *, drivers: bool) -> Block:
    text = f"*{escape(line.team)}*\n{burn_text(line)}"
    if drivers and line.drivers and (line.at_risk or line.will_cross):
        cur = line.budget.currency
        parts = [f"{escape(name)} {_amount(cost, cur)}" for name, cost in line.drivers]
        room = SECTION_TEXT_MAX - len(text) - 40
        text += f"\nDrivers this month: {join_within(parts, room, sep=' · ')}"
    return section(text)


def budget_board_blocks(board: BudgetBoard, *, limit: int = 5, drivers: bool = True) -> list[Block]:
    """Headline and up to `limit` team lines (at-risk first): the compact board other surfaces
    embed. Says how many teams were left out; never more than `limit` + 2 blocks."""
    blocks: list[Block] = [section(board_headline(board))]
    shown = board.lines[: max(limit, 0)]
    blocks += [_line_block(line, drivers=drivers) for line in shown]
    if len(board.lines) > len(shown):
        rest = len(board.lines) - len(shown)
        blocks.append(context(f"…and {rest} more team{'s' if rest > 1 else ''}: `/ops budget`."))
    return blocks


def _sources_note(board: BudgetBoard) -> str | None:
    raised = [escape(line.team) for line in board.lines if line.budget.source == "store"]
    if not raised:
        return None
    return f"Raised by approval: {join_within(raised, NOTE_CHARS)}; others from ops.yml."


def render_budgets(board: BudgetBoard, *, command: str = "budget", page: int = 0) -> Reply:
    """The `/ops budget` answer: every team's budget, burn, forecast and breach risk, at-risk
    first; as many teams as fit in one message, then "More" (`command` again, `page` + 1)."""
    headline = board_headline(board)
    top: list[Block] = [header(f"Budgets · {board.month_label}"), section(headline)]
    notes = []
    if board.lines and board.without_budget:
        no_budget = join_within([escape(t) for t in board.without_budget], NOTE_CHARS)
        notes.append(f"No budget: {no_budget}.")
    if note := _sources_note(board):
        notes.append(note)
    ends = f" (cost data ends {_day(board.data_ends)})" if board.data_ends else ""
    measure = f"; {escape(board.measure)}" if board.measure else ""
    notes.append(
        f"Month to date up to {_day(board.today)}{ends}; forecasts at the month's daily run "
        f"rate{measure}."
    )
    end: list[Block] = [context(" ".join(notes))]
    if partial := partial_note(board.problems):
        end.append(partial)
    items = [[_line_block(line, drivers=True)] for line in board.lines]
    body = page_blocks(
        items,
        page=page,
        command=command,
        max_chars=ANSWER_JSON_MAX - json_size(top + end) - 4,
        max_blocks=MESSAGE_BLOCKS_MAX - len(top) - len(end),
    )
    return Reply(text=headline, blocks=fit_message(top + body + end))
