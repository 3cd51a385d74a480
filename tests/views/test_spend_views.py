"""Spend and budget renderers: domain objects in, valid Block Kit out, money always with its currency."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

from bot.answers.budgets import BudgetBoard, BudgetLine
from bot.answers.periods import previous_period, resolve_period
from bot.answers.spend import CurrencyTotal, SpendAnswer, SpendScope
from bot.views.budgets import budget_board_blocks, render_budgets
from bot.views.ids import Action
from bot.views.paging import PageRef
from bot.views.spend import PER_PAGE, render_spend
from integrations.focus.analysis import Mover
from integrations.models import Budget, SourceProblem, SpendDimension, SpendLine
from tests.fakeslack import validate_blocks

TODAY = date(2026, 11, 23)


def spend(
    *,
    totals: tuple[CurrencyTotal, ...] = (
        CurrencyTotal("USD", Decimal(41210), Decimal("36664.30")),
    ),
    lines: tuple[SpendLine, ...] = (),
    group_by: SpendDimension | None = None,
    movers: tuple[Mover, ...] = (),
    scope: SpendScope = SpendScope(team="ml-platform"),
    budget: BudgetLine | None = None,
    problems: tuple[SourceProblem, ...] = (),
) -> SpendAnswer:
    period = resolve_period("30d", TODAY)
    before = previous_period(period)
    return SpendAnswer(
        scope=scope,
        period=period,
        previous=before,
        currency=totals[0].currency if totals else "USD",
        totals=totals,
        group_by=group_by,
        lines=lines,
        previous_lines={(line.key, line.currency): line.cost / 2 for line in lines},
        movers=movers,
        movers_by=SpendDimension.service,
        daily=tuple((d, Decimal(1300 + i)) for i, d in enumerate(period.dates())),
        previous_daily=tuple((d, Decimal(1200)) for d in before.dates()),
        forecast=Decimal(52000),
        budget=budget,
        today=TODAY,
        timezone="Europe/Berlin",
        problems=problems,
    )


def burn(
    team: str = "ml-platform", *, monthly: int = 60000, forecast: int = 68900, spent: int = 52000
) -> BudgetLine:
    budget = Budget(team=team, monthly=Decimal(monthly), alert_at=(0.5, 0.8, 1.0))
    return BudgetLine(
        team=team,
        budget=budget,
        spent_mtd=Decimal(spent),
        forecast=Decimal(forecast),
        burn=spent / monthly,
        at_risk=forecast >= monthly,
        drivers=[("Amazon SageMaker", Decimal(45866)), ("model recs", Decimal(28330))],
        breach_on=date(2026, 11, 27) if forecast >= monthly else None,
        crossed=tuple(f for f in budget.alert_at if spent >= monthly * f),
    )


def text_of(reply) -> str:
    return reply.text + "\n" + json.dumps(reply.blocks, ensure_ascii=False)


def test_headline_gives_total_with_currency_and_trend_vs_the_previous_period():
    reply = render_spend(spend(), command="spend team:ml-platform 30d", page=0)
    assert reply.text == (
        "*ml-platform* spent *$41,210* in the last 30 days, +12.4% vs the 30 days before ($36,664)."
    )
    assert validate_blocks(reply.blocks, surface="message") == []


def test_two_currencies_get_a_line_each_and_are_never_added_up():
    totals = (
        CurrencyTotal("USD", Decimal(1000), Decimal(800)),
        CurrencyTotal("EUR", Decimal(500), Decimal(0)),
    )
    lines = (
        SpendLine(key="Amazon EC2", cost=Decimal(1000), currency="USD"),
        SpendLine(key="OVH Compute", cost=Decimal(500), currency="EUR"),
    )
    reply = render_spend(spend(totals=totals, lines=lines, group_by=SpendDimension.service))
    shown = text_of(reply)
    assert "$1,000" in shown and "€500" in shown
    assert "1,500" not in shown  # never summed across currencies
    assert "100%" in shown  # each line's share is of its own currency's total
    assert validate_blocks(reply.blocks, surface="message") == []


def test_long_group_by_lists_go_a_page_at_a_time_with_a_more_button():
    lines = tuple(
        SpendLine(key=f"pipeline_{n:02d}", cost=Decimal(1000 - n), currency="USD")
        for n in range(40)
    )
    answer = spend(lines=lines, group_by=SpendDimension.pipeline)
    first = render_spend(answer, command="spend 30d by pipeline", page=0)
    assert "pipeline_00" in text_of(first) and f"pipeline_{PER_PAGE:02d}" not in text_of(first)
    buttons = [el for b in first.blocks if b["type"] == "actions" for el in b["elements"]]
    assert [b["action_id"] for b in buttons] == [Action.page_more]
    assert PageRef.model_validate_json(buttons[0]["value"]) == PageRef(
        command="spend 30d by pipeline", page=1
    )
    last = render_spend(answer, command="spend 30d by pipeline", page=2)
    assert "pipeline_39" in text_of(last) and "Showing 40 of 40" in text_of(last)
    for reply in (first, last):
        assert validate_blocks(reply.blocks, surface="message") == []


def test_names_from_the_bill_are_escaped_everywhere():
    evil = "<!channel> <https://evil.example|invoice>"
    lines = (SpendLine(key=evil, cost=Decimal(10), currency="USD"),)
    movers = (Mover(key=evil, current=Decimal(10), previous=Decimal(1)),)
    reply = render_spend(
        spend(
            lines=lines,
            movers=movers,
            group_by=SpendDimension.service,
            scope=SpendScope(service=evil),
        )
    )
    shown = text_of(reply)
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown
    assert validate_blocks(reply.blocks, surface="message") == []


def test_team_answer_shows_budget_burn_and_charts_the_budget_pace():
    reply = render_spend(spend(budget=burn()))
    shown = text_of(reply)
    assert "$52,000 of $60,000 spent (87%)" in shown and "will breach on ~Fri 27 Nov" in shown
    chart = reply.chart
    assert chart is not None and chart.unit == "USD"
    assert len(chart.series) == 30 and len(chart.compare) == 30
    assert chart.series[0] == (date(2026, 10, 25), 1300.0)
    assert chart.limit == 2000.0  # 60,000 over November's 30 days
    assert validate_blocks(reply.blocks, surface="message") == []


def test_partial_answer_is_marked_and_empty_spend_says_it_could_not_read_it():
    problem = SourceProblem(source="focus", reason="timed out after 5.0 s")
    totals: tuple[CurrencyTotal, ...] = ()
    reply = render_spend(spend(totals=totals, problems=(problem,)))
    shown = text_of(reply)
    assert "Partial answer" in shown and "focus: timed out" in shown
    assert "could not read the spend of *ml-platform*" in reply.text
    assert reply.chart is None
    assert validate_blocks(reply.blocks, surface="message") == []


def board(*lines: BudgetLine, problems: tuple[SourceProblem, ...] = ()) -> BudgetBoard:
    return BudgetBoard(list(lines), problems, TODAY, without_budget=("finance",))


def test_budget_headline_names_the_teams_that_will_go_over():
    reply = render_budgets(
        board(
            burn(),
            burn("data-eng", monthly=45000, forecast=35000, spent=27000),
            burn("analytics", monthly=20000, forecast=13000, spent=9900),
        )
    )
    assert reply.text == (
        "1 of 3 teams will go over budget this month: *ml-platform* (forecast $68,900 of $60,000)"
    )
    shown = text_of(reply)
    assert "Drivers this month: Amazon SageMaker $45,866" in shown
    assert "No budget: finance." in shown
    assert validate_blocks(reply.blocks, surface="message") == []


def test_all_teams_on_track_says_so():
    reply = render_budgets(board(burn("a", forecast=100), burn("b", forecast=200)))
    assert reply.text == "All 2 teams are on track to stay within budget this month."


def test_compact_board_keeps_to_its_limit_and_says_how_many_are_left_out():
    lines = [burn(f"team-{n}", forecast=1000 * n) for n in range(6)]
    blocks = budget_board_blocks(board(*lines), limit=2)
    assert len(blocks) == 4
    assert "…and 4 more teams" in json.dumps(blocks, ensure_ascii=False)
    assert validate_blocks(blocks, surface="message") == []


def test_budget_in_another_currency_is_shown_apart():
    line = burn()
    line = BudgetLine(**{**line.__dict__, "other_currencies": {"EUR": Decimal(900)}})
    shown = text_of(render_budgets(board(line)))
    assert "Also €900 this month, not counted against a USD budget" in shown
    assert "$52,900" not in shown


def test_budget_board_marks_partial_answers():
    problem = SourceProblem(source="aws-ce", reason="throttled")
    reply = render_budgets(board(burn(), problems=(problem,)))
    assert "Partial answer" in text_of(reply)


def test_a_month_without_data_before_today_has_no_chart():
    answer = spend()
    one_day = SpendAnswer(**{**answer.__dict__, "daily": answer.daily[:1]})
    assert render_spend(one_day).chart is None
    assert TODAY - timedelta(days=29) == answer.period.start


# -- nothing to compare with, and a month that has ended -------------------------------------------
def before_the_data(answer: SpendAnswer, starts: date = date(2026, 8, 26)) -> SpendAnswer:
    """`answer` as when the cost data starts after the previous period: nothing spent before."""
    totals = tuple(CurrencyTotal(t.currency, t.current, Decimal(0)) for t in answer.totals)
    return SpendAnswer(
        **{**answer.__dict__, "totals": totals, "previous_lines": {}, "data_starts": starts}
    )


def test_before_the_data_the_headline_says_where_it_starts_not_that_nothing_was_spent():
    reply = render_spend(before_the_data(spend()))
    assert reply.text == (
        "*ml-platform* spent *$41,210* in the last 30 days "
        "(cost data starts 26 Aug 2026: nothing earlier to compare with)."
    )
    footer = reply.blocks[-1]["elements"][0]["text"]
    assert footer == "25 Oct – 23 Nov 2026 · cost data from 26 Aug 2026 · days in Europe/Berlin"
    assert reply.chart is not None and reply.chart.compare == ()
    assert "dimmed" not in reply.chart.alt_text
    assert validate_blocks(reply.blocks, surface="message") == []


def test_before_the_data_each_currency_shows_its_total_without_a_trend():
    totals = (
        CurrencyTotal("USD", Decimal(1000), Decimal(800)),
        CurrencyTotal("EUR", Decimal(500), Decimal(0)),
    )
    reply = render_spend(before_the_data(spend(totals=totals)))
    assert reply.text == (
        "*ml-platform* spent in the last 30 days (each currency on its own; cost data starts "
        "26 Aug 2026: nothing earlier to compare with):\n• *$1,000*\n• *€500*"
    )


def by_block(reply) -> str:  # type: ignore[no-untyped-def]
    """The text of the group-by table's section."""
    found = [
        b["text"]["text"] for b in reply.blocks if b.get("text", {}).get("text", "")[:4] == "*By "
    ]
    assert len(found) == 1
    return found[0]


def test_a_grouped_table_calls_no_line_new_when_there_is_nothing_to_compare_with():
    lines = (
        SpendLine(key="Amazon EC2", cost=Decimal(700), currency="USD"),
        SpendLine(key="Amazon S3", cost=Decimal(300), currency="USD"),
    )
    answer = spend(lines=lines, group_by=SpendDimension.service)
    table = by_block(render_spend(before_the_data(answer)))
    assert table.startswith("*By service* (share of total)\n```")
    assert "new" not in table and "change vs" not in table
    assert re.search(r"Amazon EC2 +\$700 +2%\n", table)


def test_a_line_without_spend_before_is_new_when_its_currency_had_spend_before():
    lines = (
        SpendLine(key="Amazon EC2", cost=Decimal(700), currency="USD"),
        SpendLine(key="Amazon Bedrock", cost=Decimal(300), currency="USD"),
    )
    answer = spend(lines=lines, group_by=SpendDimension.service)
    answer = SpendAnswer(
        **{**answer.__dict__, "previous_lines": {("Amazon EC2", "USD"): Decimal(350)}}
    )
    table = by_block(render_spend(answer))
    assert "change vs the 30 days before" in table
    assert re.search(r"Amazon EC2 .* \+100\.0%", table)
    assert re.search(r"Amazon Bedrock .* new", table)


def test_a_month_that_has_ended_shows_what_was_spent_of_its_budget_and_no_forecast():
    period = resolve_period("2026-10", TODAY)
    october = burn(monthly=60000, forecast=47850, spent=47850)
    answer = SpendAnswer(
        **{
            **spend(budget=october).__dict__,
            "period": period,
            "previous": previous_period(period),
            "forecast": None,
            "today": date(2026, 10, 31),
        }
    )
    assert answer.closed
    shown = text_of(render_spend(answer))
    assert "$47,850 of $60,000 spent (80%)" in shown
    assert "forecast" not in shown.lower()
    assert ":large_green_circle: within budget" in shown and "on track" not in shown


def test_a_month_that_has_ended_over_budget_says_so_without_a_forecast():
    period = resolve_period("last-month", TODAY)
    over = burn(monthly=40000, forecast=47850, spent=47850)
    answer = SpendAnswer(**{**spend(budget=over).__dict__, "period": period, "forecast": None})
    shown = text_of(render_spend(answer))
    assert "$47,850 of $60,000" not in shown and "$47,850 of $40,000 spent (120%)" in shown
    assert "*over budget*" in shown and "forecast" not in shown.lower()


def test_this_months_budget_keeps_its_forecast():
    answer = spend(budget=burn())
    assert not answer.closed
    assert "forecast *$68,900* (115%)" in text_of(render_spend(answer))
