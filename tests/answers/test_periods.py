"""Spend periods: what `30d`, `mtd`, `last-month` and `YYYY-MM` cover, and what they compare with."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers.periods import PeriodError, previous_period, resolve_period
from bot.commands.grammar import parse

TODAY = date(2026, 11, 23)


def test_default_is_the_last_30_days_including_today():
    period = resolve_period(None, TODAY)
    assert (period.start, period.end) == (date(2026, 10, 25), date(2026, 11, 24))
    assert period.days == 30 and period.label == "the last 30 days"


def test_today_is_one_day_compared_with_yesterday():
    period = resolve_period("today", TODAY)
    assert (period.start, period.end, period.during) == (TODAY, date(2026, 11, 24), "today")
    before = previous_period(period)
    assert (before.start, before.end, before.label) == (date(2026, 11, 22), TODAY, "yesterday")


def test_7d_is_compared_with_the_7_days_before():
    period = resolve_period("7d", TODAY)
    before = previous_period(period)
    assert period.start == date(2026, 11, 17)
    assert (before.start, before.end) == (date(2026, 11, 10), date(2026, 11, 17))
    assert before.label == "the 7 days before"


def test_last_30d_as_the_parser_delivers_it():
    parsed = parse("spend last-30d")
    assert parsed.period == "30d"  # type: ignore[union-attr]
    assert resolve_period(parsed.period, TODAY) == resolve_period("30d", TODAY)  # type: ignore[union-attr]


def test_month_to_date_compares_with_the_same_days_of_last_month():
    period = resolve_period("mtd", TODAY)
    assert (period.start, period.end) == (date(2026, 11, 1), date(2026, 11, 24))
    before = previous_period(period)
    assert (before.start, before.end) == (date(2026, 10, 1), date(2026, 10, 24))


def test_month_to_date_on_the_31st_stops_at_the_end_of_a_shorter_previous_month():
    before = previous_period(resolve_period("mtd", date(2026, 3, 31)))
    assert (before.start, before.end) == (date(2026, 2, 1), date(2026, 3, 1))


def test_last_month_in_january_is_december_of_the_year_before():
    period = resolve_period("last-month", date(2027, 1, 1))
    assert (period.start, period.end, period.label) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
        "December 2026",
    )
    assert previous_period(period).start == date(2026, 11, 1)


def test_february_of_a_leap_year_has_29_days():
    period = resolve_period("2024-02", TODAY)
    assert (period.start, period.end) == (date(2024, 2, 1), date(2024, 3, 1))
    assert period.days == 29
    before = previous_period(period)
    assert (before.start, before.end, before.label) == (
        date(2024, 1, 1),
        date(2024, 2, 1),
        "January 2024",
    )
    assert resolve_period("2025-02", TODAY).days == 28


def test_a_month_compares_with_the_whole_previous_month_not_the_same_length():
    before = previous_period(resolve_period("2026-03", TODAY))
    assert (before.start, before.end) == (date(2026, 2, 1), date(2026, 3, 1))


def test_the_current_month_by_name_is_the_month_so_far():
    assert resolve_period("2026-11", TODAY) == resolve_period("mtd", TODAY)


def test_a_future_month_is_a_clear_error():
    with pytest.raises(PeriodError, match="December 2026 has not started yet"):
        resolve_period("2026-12", TODAY)


@pytest.mark.parametrize("token", ["0d", "2026-13", "2026-00", "fortnight"])
def test_periods_that_mean_nothing_are_errors(token):
    with pytest.raises(PeriodError):
        resolve_period(token, TODAY)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(today=days, n=st.integers(min_value=1, max_value=999))
def test_nd_ends_today_and_its_previous_period_is_the_same_length_just_before(today, n):
    period = resolve_period(f"{n}d", today)
    before = previous_period(period)
    assert period.start < period.end == today + timedelta(days=1)
    assert period.days == n
    assert before.end == period.start and before.days == period.days


@given(today=days, token=st.sampled_from(["today", "mtd", "last-month", "30d"]))
def test_every_period_is_non_empty_and_its_comparison_ends_by_its_start(today, token):
    period = resolve_period(token, today)
    before = previous_period(period)
    assert period.start < period.end <= today + timedelta(days=1)
    assert before.start < before.end <= period.start


@given(today=days, back=st.integers(min_value=1, max_value=120))
def test_a_past_month_is_whole_and_follows_its_previous_month(today, back):
    first = today.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    period = resolve_period(f"{first:%Y-%m}", today)
    before = previous_period(period)
    assert period.start == first and period.days == calendar.monthrange(first.year, first.month)[1]
    assert before.end == period.start and before.start.day == 1
