"""Spend and budget renderers: domain objects in, valid Block Kit out, money always with its currency."""

from __future__ import annotations

import json
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
