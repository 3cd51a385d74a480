"""What a spend period means in days: `30d`, `mtd`, `last-month`, `2026-10` → [start, end) and the
period it is compared with.

Days are the workspace's local days (`today` comes from AnswerDeps.today); `end` is exclusive,
as in SpendQuery.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from bot.answers.entities import Unknown

DEFAULT_PERIOD = "30d"
PERIOD_EXAMPLES = ("today", "7d", "30d", "mtd", "last-month", "2026-10")
MAX_DAYS = 999  # the grammar accepts at most three digits

Kind = Literal["today", "days", "mtd", "month"]

_DAYS = re.compile(r"^(?:last-)?(\d{1,3})d$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be answered (a future month, 0d, month 13); says what to use instead."""


@dataclass(frozen=True)
class NotAPeriod(Unknown):
    """The Unknown an answer returns for a period it cannot answer, with the reason as message."""

    reason: str = ""

    @property
    def message(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    label: str  # "the last 30 days", "today", "October 2026", "November 2026 so far"
    kind: Kind = "days"
    token: str = field(default=DEFAULT_PERIOD, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def during(self) -> str:
        """The label as it follows a verb: "spent $5 today", "spent $5 in October 2026"."""
        return self.label if self.kind == "today" else f"in {self.label}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def covers(self, day: date) -> bool:
        return self.start <= day < self.end


def _month_name(day: date) -> str:
    return f"{calendar.month_name[day.month]} {day.year}"


def _month_end(first: date) -> date:
    """The first day of the month after `first`'s month."""
    return first.replace(day=calendar.monthrange(first.year, first.month)[1]) + timedelta(days=1)


def _previous_month_start(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def _month_to_date(today: date, token: str) -> Period:
    first = today.replace(day=1)
    return Period(first, today + timedelta(days=1), f"{_month_name(today)} so far", "mtd", token)


def _whole_month(first: date, token: str) -> Period:
    return Period(first, _month_end(first), _month_name(first), "month", token)


def resolve_period(text: str | None, today: date) -> Period:
    """The period `text` names, as of `today`; raises PeriodError for one that cannot be answered.

    `Nd` is the last N days including today; `YYYY-MM` of the current month is that month so far.
    """
    token = (text or DEFAULT_PERIOD).strip().lower()
    if token == "today":
        return Period(today, today + timedelta(days=1), "today", "today", token)
    if token == "mtd":
        return _month_to_date(today, token)
    if token == "last-month":
        return _whole_month(_previous_month_start(today.replace(day=1)), token)
    if found := _DAYS.match(token):
        n = int(found.group(1))
        if not 1 <= n <= MAX_DAYS:
            raise PeriodError(f"`{token}` is not a period: use 1d to {MAX_DAYS}d, e.g. `30d`.")
        end = today + timedelta(days=1)
        if n == 1:
            return Period(today, end, "today", "today", token)
        return Period(end - timedelta(days=n), end, f"the last {n} days", "days", token)
    if found := _MONTH.match(token):
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12 or year < 1:
            raise PeriodError(f"`{token}` is not a month: write YYYY-MM, e.g. `2026-10`.")
        first = date(year, month, 1)
        if first > today:
            raise PeriodError(
                f"{_month_name(first)} has not started yet (today is {today:%d %b %Y}), so it has "
                "no spend: ask for `mtd` or a past month."
            )
        if first == today.replace(day=1):
            return _month_to_date(today, token)
        return _whole_month(first, token)
    raise PeriodError(
        f"I don't understand the period `{token}`: use "
        + ", ".join(f"`{p}`" for p in PERIOD_EXAMPLES)
        + "."
    )


def previous_period(period: Period) -> Period:
    """The period `period` is compared with.

    A calendar month → the previous calendar month; month to date → the same days of the
    previous month (cut at its end); today → yesterday; otherwise the same number of days
    immediately before.
    """
    if period.kind == "month":
        first = _previous_month_start(period.start)
        return Period(first, period.start, _month_name(first), "month", period.token)
    if period.kind == "mtd":
        first = _previous_month_start(period.start)
        end = min(first + timedelta(days=period.days), period.start)
        label = f"the same days of {_month_name(first)}"
        return Period(first, end, label, "mtd", period.token)
    start = period.start - timedelta(days=period.days)
    if period.kind == "today":
        return Period(start, period.start, "yesterday", "today", period.token)
    return Period(start, period.start, f"the {period.days} days before", "days", period.token)


def same_days_before(period: Period, previous: Period, days: int) -> Period:
    """What the first `days` days of `period` are compared with when the cost data ends there: the
    same days of the previous month for a month, else the `days` days just before."""
    if period.kind in ("month", "mtd"):
        first = previous.start
        end = min(first + timedelta(days=days), previous.end)
        return Period(first, end, f"the same days of {_month_name(first)}", "mtd", period.token)
    start = period.start - timedelta(days=days)
    label = "the day before" if days == 1 else f"the {days} days before"
    return Period(start, period.start, label, "days", period.token)
