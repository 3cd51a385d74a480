"""The `/ops spend` answer in Slack: headline with trend, budget burn or forecast, a group-by table
(a page at a time), top movers, and the chart spec of the daily series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.answers.budgets import daily_pace
from bot.answers.spend import CurrencyTotal, SpendAnswer
from bot.views.budgets import burn_text
from bot.views.format import money, partial_note, signed_pct
from bot.views.limits import fit_message, truncate
from bot.views.mrkdwn import context, escape, header, section
from bot.views.paging import more_blocks, page_of
from bot.views.reply import Block, ChartSpec, Reply
from integrations.models import SpendDimension, SpendLine

PER_PAGE = 15
KEY_WIDTH = 32


def _plain(text: str) -> str:
    """A name for plain-text places (header, chart title): no angle brackets at all, so nothing
    a bill calls a service can look like a mention or a link there."""
    return text.replace("<", "‹").replace(">", "›")


def _amount(value: Decimal, currency: str) -> str:
    return money(value, currency, cents=False)


def _day(day: date) -> str:
    return day.strftime("%d %b %Y")


def _span(start: date, last: date) -> str:
    if start == last:
        return _day(start)
    head = start.strftime("%d %b" if start.year == last.year else "%d %b %Y")
    return f"{head} – {_day(last)}"


def _trend(total: CurrencyTotal, previous_label: str) -> str:
    if total.change is None:
        return f"nothing spent in {previous_label}" if total.current else "no spend"
    return f"{signed_pct(total.change)} vs {previous_label} ({_amount(total.previous, total.currency)})"


def _no_comparison(answer: SpendAnswer) -> str | None:
    """Why there is no trend when the cost data starts after the previous period: the data
    does not reach back, which is not the same as nothing having been spent."""
    if answer.data_starts is None:
        return None
    return f"cost data starts {_day(answer.data_starts)}: nothing earlier to compare with"


def _subject(answer: SpendAnswer) -> tuple[str, str]:
    """Who spent, and the verb: teams spend, a model or a service costs."""
    label = answer.scope.label
    if answer.unallocated:
        rest = label.removeprefix(answer.scope.team or "").removeprefix(", ")
        of = f" of *{escape(rest)}*" if rest else ""
        return f"Spend with no team (*unallocated*){of}", "was"
    if not label:
        return "All teams", "spent"
    verb = "spent" if answer.scope.team and label == answer.scope.team else "cost"
    return f"*{escape(label)}*", verb


def _no_data(answer: SpendAnswer) -> str:
    """Why a period wholly outside the cost data shows no figure."""
    label = answer.scope.label
    whose = f" for *{escape(label)}*" if label else ""
    if answer.data_ends is not None:
        where = f"the cost data ends {_day(answer.data_ends)}"
    else:
        assert answer.data_starts is not None
        where = f"the cost data starts {_day(answer.data_starts)}"
    return f"No cost data{whose} {answer.period.during}: {where}."


def spend_headline(answer: SpendAnswer) -> str:
    """'*ml-platform* spent *$41,210* in the last 30 days, +12.4% vs the 30 days before'; one
    line per currency when there are several (amounts in different currencies are never added)."""
    who, verb = _subject(answer)
    during, before = answer.period.during, answer.previous.label
    if answer.no_data:
        return _no_data(answer)
    if answer.data_ends is not None:
        during += f" (cost data ends {_day(answer.data_ends)})"
    if answer.empty:
        if answer.problems:
            return f"I could not read the spend of {who} {during}: see the note below."
        return f"No spend recorded for {who} {during}."
    unknown_before = _no_comparison(answer)
    head = "" if verb == "was" else f" {verb}"  # "spent in May:", but never "was in May:"
    if len(answer.totals) == 1:
        total = answer.totals[0]
        spent = f"{who} {verb} *{_amount(total.current, total.currency)}* {during}"
        if unknown_before:
            return f"{spent} ({unknown_before})."
        return f"{spent}, {_trend(total, before)}."
    if unknown_before:
        lines = [f"• *{_amount(t.current, t.currency)}*" for t in answer.totals]
        return f"{who}{head} {during} (each currency on its own; {unknown_before}):\n" + "\n".join(
            lines
        )
    lines = [f"• *{_amount(t.current, t.currency)}*, {_trend(t, before)}" for t in answer.totals]
    return f"{who}{head} {during} (each currency on its own):\n" + "\n".join(lines)


def _budget_or_forecast(answer: SpendAnswer) -> str | None:
    if answer.budget is not None:
        month = answer.today.strftime("%B")
        burn = burn_text(answer.budget, closed=answer.closed, month=month)
        return f"*Budget of {escape(answer.budget.team)}* ({month}):\n" + burn
    if answer.forecast is not None and not answer.empty:
        return (
            f"*Month-end forecast:* {_amount(answer.forecast, answer.currency)} for "
            f"{answer.today:%B} at this month's daily run rate."
        )
    return None


def _key(line: SpendLine, group_by: SpendDimension | None) -> str:
    if group_by is SpendDimension.day:
        return date.fromisoformat(line.key).strftime("%a %d %b")
    return line.key


def _compared(answer: SpendAnswer) -> bool:
    """Whether group-by lines are compared with the previous period: not by day, and not when
    the cost data does not reach back that far."""
    return answer.group_by is not SpendDimension.day and answer.data_starts is None


def _table(answer: SpendAnswer, lines: list[SpendLine]) -> str:
    """The lines as a code block; with several currencies, one list per currency under its code
    (amounts in different currencies are never added, so a key may appear once per currency)."""
    currencies = list(dict.fromkeys(line.currency for line in lines))
    if len(currencies) == 1 and len(answer.totals) <= 1:
        return "```\n" + escape("\n".join(_rows(answer, lines))) + "\n```"
    parts = []
    for currency in currencies:
        rows = _rows(answer, [line for line in lines if line.currency == currency])
        parts.append(f"*{escape(currency)}*\n```\n" + escape("\n".join(rows)) + "\n```")
    return "\n".join(parts)


def _rows(answer: SpendAnswer, lines: list[SpendLine]) -> list[str]:
    totals = {t.currency: t.current for t in answer.totals}
    # A line is "new" only if its currency had spend before; else nothing is compared.
    spent_before = {t.currency for t in answer.totals if t.previous}
    show_change = _compared(answer)
    rows = []
    for line in lines:
        key = truncate(_key(line, answer.group_by), KEY_WIDTH)
        cost = _amount(line.cost, line.currency)
        total = totals.get(line.currency) or Decimal(0)
        share = f"{line.cost / total * 100:.0f}%" if total > 0 else ""
        row = f"{key:<{KEY_WIDTH}} {cost:>12} {share:>4}"
        if show_change:
            before = answer.previous_lines.get((line.key, line.currency), Decimal(0))
            if before:
                change = signed_pct(float((line.cost - before) / before))
            else:
                change = "new" if line.currency in spent_before else ""
            row += f" {change:>7}"
        rows.append(row)
    # Escaped inside the code block too (by the caller): Slack still turns <!channel> into a
    # mention there.
    return rows


def _lines_blocks(answer: SpendAnswer, *, command: str, page: int) -> list[Block]:
    if answer.group_by is None or not answer.lines:
        return []
    shown, more = page_of(answer.lines, page, PER_PAGE)
    if not shown:
        return [context(f"No more lines by {answer.group_by.value}.")]
    change = f", change vs {answer.previous.label}" if _compared(answer) else ""
    title = f"*By {answer.group_by.value}* (share of total{change})"
    blocks: list[Block] = [section(f"{title}\n{_table(answer, shown)}")]
    if more or page > 0:
        upto = page * PER_PAGE + len(shown)
        if more:
            blocks += more_blocks(command=command, page=page, shown=upto, total=len(answer.lines))
        else:
            blocks.append(context(f"Showing {upto} of {len(answer.lines)}."))
    return blocks


def _movers_block(answer: SpendAnswer) -> Block | None:
    if not answer.movers:
        return None
    rows = []
    for mover in answer.movers:
        delta = mover.delta
        sign = "+" if delta > 0 else "-"
        rows.append(
            f"• {escape(mover.key)}: {sign}{_amount(abs(delta), mover.currency)} "
            f"({signed_pct(mover.change)}) → {_amount(mover.current, mover.currency)}"
        )
    title = f"*Top movers by {answer.movers_by.value}* vs {answer.previous.label}"
    if tax := answer.tax_apart:
        sign = "+" if tax.delta > 0 else "-"
        rows.append(
            "Tax is not a service and is left out of the movers: "
            f"{sign}{_amount(abs(tax.delta), tax.currency)} → {_amount(tax.current, tax.currency)}, "
            "counted in the totals (`by charge_category` shows it)."
        )
    return section(title + "\n" + "\n".join(rows))


def _footer(answer: SpendAnswer) -> Block:
    """The days the figures cover and compare with, the zone those days are cut in, and the
    cost column summed."""
    now, before = answer.period, answer.previous
    measure = f" · {escape(answer.measure)}" if answer.measure else ""
    zone = f"days in {escape(answer.timezone)}{measure}"
    if answer.no_data:
        return context(f"{_span(now.start, now.last_day)} · {zone}")
    last = min(now.last_day, answer.today, answer.data_ends or now.last_day)
    if answer.data_starts is not None:
        compared = f" · cost data from {_day(answer.data_starts)}"
    else:
        compared = f" vs {_span(before.start, before.last_day)}"
    return context(f"{_span(now.start, last)}{compared} · {zone}")


def spend_chart(answer: SpendAnswer) -> ChartSpec | None:
    """Daily spend of the period, the previous period dimmed, and the budget's daily pace."""
    if len(answer.daily) < 2 or answer.empty:
        return None
    who = _plain(answer.scope.label or "all teams")
    limit = None
    if answer.budget is not None and answer.budget.budget.currency == answer.currency:
        limit = float(daily_pace(answer.budget.budget, answer.today))
    total = answer.total
    peak_day, peak = max(answer.daily, key=lambda item: (item[1], item[0]))
    # Before the cost data there is no previous period to draw, only a flat line at zero.
    compare = answer.previous_daily if answer.data_starts is None else ()
    alt = (
        f"Daily spend of {who} {answer.period.during}: "
        f"{_amount(total.current if total else Decimal(0), answer.currency)} in total, "
        f"highest {_amount(peak, answer.currency)} on {peak_day:%d %b}"
        + (f"; {answer.previous.label} dimmed" if compare else "")
        + (
            f"; budget pace {_amount(Decimal(str(limit)), answer.currency)} a day."
            if limit
            else "."
        )
    )
    return ChartSpec(
        title=f"Daily spend: {who}, {answer.period.label}",
        series=tuple((d, float(v)) for d, v in answer.daily),
        unit=answer.currency,
        alt_text=alt,
        compare=tuple((d, float(v)) for d, v in compare),
        limit=limit,
    )


def render_spend(answer: SpendAnswer, *, command: str = "spend", page: int = 0) -> Reply:
    """The whole `/ops spend` answer; `command` is re-run by the "More" button for `page` + 1."""
    title = _plain(answer.scope.label or "All teams")
    blocks: list[Block] = [header(f"Spend · {title} · {answer.period.label}")]
    headline = spend_headline(answer)
    blocks.append(section(headline))
    if answer.scope.notes:
        blocks.append(context(" · ".join(escape(note) for note in answer.scope.notes)))
    if text := _budget_or_forecast(answer):
        blocks.append(section(text))
    blocks += _lines_blocks(answer, command=command, page=page)
    if mover := _movers_block(answer):
        blocks.append(mover)
    if partial := partial_note(answer.problems):
        blocks.append(partial)
    blocks.append(_footer(answer))
    return Reply(text=headline, blocks=fit_message(blocks), chart=spend_chart(answer))
