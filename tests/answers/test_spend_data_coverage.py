"""Spend answers know where the cost data ends: a period after it says so instead of showing a
fall to $0, a period running past it compares like with like and says where it stops, and a
source whose data stops early marks the answer partial."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.answers.budgets import budget_board
from bot.answers.spend import SpendAnswer, spend_answer
from bot.views.budgets import render_budgets
from bot.views.spend import render_spend
from integrations.focus import FocusCostSource
from tests.answers.own_data import own_deps
from tests.focus_export import daily, utc, write_export

# An export that ends on 28 May 2026: 10 a day of EC2 and 2 a day of S3 since 1 March.
MARCH_TO_MAY = daily(utc(2026, 3, 1, 6), utc(2026, 5, 28, 6), 10, service="AmazonEC2") + daily(
    utc(2026, 3, 1, 6), utc(2026, 5, 28, 6), 2, service="AmazonS3"
)
JULY = datetime(2026, 7, 10, 12, tzinfo=UTC)


async def answer(deps, **kwargs) -> SpendAnswer:  # type: ignore[no-untyped-def]
    found = await spend_answer(deps, **kwargs)
    assert isinstance(found, SpendAnswer), found
    return found


def shown(answer: SpendAnswer) -> str:
    reply = render_spend(answer)
    return reply.text + json.dumps(reply.blocks, ensure_ascii=False)


async def test_a_month_after_the_export_says_where_the_data_ends_not_minus_100_percent(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=JULY)
    found = await answer(deps, period="2026-06", group_by="service")
    assert found.no_data and found.data_ends == date(2026, 5, 28)
    assert found.totals == () and found.movers == () and found.forecast is None
    text = shown(found)
    assert "No cost data in June 2026: the cost data ends 28 May 2026." in text
    assert "-100" not in text and "$0" not in text


async def test_thirty_days_on_an_export_that_ended_months_ago_says_it_ended(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=datetime(2026, 11, 23, 12, tzinfo=UTC))
    found = await answer(deps, period="30d")
    assert found.no_data
    assert shown(found).startswith("No cost data in the last 30 days: the cost data ends 28 May")


async def test_a_month_the_data_ends_in_is_compared_with_the_same_days_before(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=JULY)
    found = await answer(deps, period="2026-05")
    assert found.data_ends == date(2026, 5, 28) and not found.no_data
    assert found.total is not None
    assert found.total.current == Decimal(12 * 28)  # 1–28 May
    assert found.total.previous == Decimal(12 * 28)  # 1–28 April, not all of April
    assert found.total.change == 0
    assert found.previous.label == "the same days of April 2026"
    assert found.daily[-1][0] == date(2026, 5, 28)  # no invented zero days after the data
    text = shown(found)
    assert "in May 2026 (cost data ends 28 May 2026)" in text
    assert "01 May – 28 May 2026 vs 01 Apr – 28 Apr 2026" in text


async def test_a_rolling_window_past_the_data_compares_as_many_days_just_before(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=datetime(2026, 6, 2, 12, tzinfo=UTC))
    found = await answer(deps, period="30d")  # 4 May – 2 June; data to 28 May: 25 days
    assert found.data_ends == date(2026, 5, 28)
    assert found.previous.start == date(2026, 4, 9) and found.previous.end == date(2026, 5, 4)
    assert found.total is not None and found.total.change == 0


async def test_a_period_inside_the_data_is_not_marked(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=JULY)
    found = await answer(deps, period="2026-04")
    assert found.data_ends is None and not found.problems
    assert "cost data ends" not in shown(found)


async def test_a_month_before_the_data_says_where_it_starts(tmp_path):
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=JULY)
    found = await answer(deps, period="2026-01")
    assert found.no_data and found.data_starts == date(2026, 3, 1)
    assert "No cost data in January 2026: the cost data starts 01 Mar 2026." in shown(found)


async def test_a_source_whose_data_stops_early_marks_the_answer_partial(tmp_path):
    other = write_export(
        daily(utc(2026, 3, 1, 6), utc(2026, 4, 15, 6), 1, service="BigQuery", provider="Google"),
        tmp_path / "gcp",
    )
    gcp = FocusCostSource(f"{other}/*.parquet", name="gcp")
    deps = own_deps(tmp_path, MARCH_TO_MAY, now=JULY, extra_costs=(gcp,))
    found = await answer(deps, period="2026-05")
    assert found.data_ends == date(2026, 5, 28)  # the AWS export goes on to 28 May
    assert [(p.source, p.reason) for p in found.problems] == [("gcp", "cost data ends 15 Apr 2026")]
    assert "gcp" in shown(found) and "cost data ends 15 Apr 2026" in shown(found)


async def test_the_budget_board_says_where_the_data_ends_and_what_it_sums(tmp_path):
    deps = own_deps(
        tmp_path,
        MARCH_TO_MAY,
        now=datetime(2026, 5, 30, 12, tzinfo=UTC),
        budgets={"data-eng": {"monthly": 1000}},
        focus={"measure": "BilledCost"},
    )
    board = await budget_board(deps)
    assert board.data_ends == date(2026, 5, 28) and board.measure == "BilledCost"
    footer = json.dumps(render_budgets(board).blocks, ensure_ascii=False)
    assert "Month to date up to Sat 30 May (cost data ends Thu 28 May)" in footer
    assert "BilledCost" in footer
