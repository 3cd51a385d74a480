"""Pure spend arithmetic for answers and digests: previous period, month-end forecast, movers.

No I/O here: inputs are SpendSummary objects or plain mappings, outputs are Decimals and small
pydantic models, so every rule is tested without files.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from integrations.models import TAX_LINE, SpendQuery, SpendSummary

DailySeries = Mapping[date, Decimal] | Iterable[tuple[date, Decimal]]


class Mover(BaseModel):
    """One key whose spend changed between two periods (same currency)."""

    model_config = ConfigDict(frozen=True)

    key: str
    current: Decimal
    previous: Decimal
    currency: str = "USD"

    @property
    def delta(self) -> Decimal:
        return self.current - self.previous

    @property
    def change(self) -> float | None:
        """Relative change (0.5 = +50%); None when there was no spend before."""
        return float(self.delta / self.previous) if self.previous else None


def previous_period(query: SpendQuery) -> SpendQuery:
    """The window of the same length that ends where `query` starts (30d -> the 30 days before)."""
    length = query.end - query.start
    return query.model_copy(update={"start": query.start - length, "end": query.start})


def daily_series(summary: SpendSummary, currency: str | None = None) -> dict[date, Decimal]:
    """Cost per day in one currency (default: the summary's largest currency)."""
    currency = currency or main_currency(summary)
    series: dict[date, Decimal] = {}
    for day, cur, cost in summary.daily:
        if cur == currency:
            series[day] = series.get(day, Decimal(0)) + cost
    return series


def main_currency(summary: SpendSummary) -> str:
    if not summary.totals:
        return "USD"
    return max(summary.totals.items(), key=lambda item: (abs(item[1]), item[0]))[0]


def forecast_month_end(daily: DailySeries, today: date) -> Decimal:
    """Month-end spend if the month-to-date run-rate continues (linear).

    Month-to-date is every day of today's month up to and including today. The run-rate
    divides it by the days elapsed up to the last day that has data, so a provider's export
    lag of a day or two does not drag the forecast down; the rate is then applied to the rest
    of the month: forecast = mtd + rate * (days_in_month - days_elapsed).
    """
    items = daily.items() if isinstance(daily, Mapping) else daily
    month_start = today.replace(day=1)
    mtd = Decimal(0)
    last_day: date | None = None
    for day, cost in items:
        if month_start <= day <= today:
            mtd += cost
            last_day = day if last_day is None or day > last_day else last_day
    if last_day is None:
        return Decimal(0)
    elapsed = last_day.day
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    rate = mtd / elapsed
    return (mtd + rate * (days_in_month - elapsed)).quantize(Decimal("0.01"))


def top_movers(
    current: SpendSummary | Mapping[str, Decimal],
    previous: SpendSummary | Mapping[str, Decimal],
    n: int = 5,
    *,
    currency: str | None = None,
) -> list[Mover]:
    """The `n` keys whose spend changed most (by absolute amount), biggest first.

    Summaries are compared line by line in one currency (default: the current summary's
    largest); keys present in only one period count as zero in the other. The tax line of spend
    by service is not a mover (TAX_LINE: billed monthly on the bill, not a service in use).
    """
    if isinstance(current, SpendSummary):
        currency = currency or main_currency(current)
    now = _by_key(current, currency)
    before = _by_key(previous, currency)
    movers = [
        Mover(
            key=key,
            current=now.get(key, Decimal(0)),
            previous=before.get(key, Decimal(0)),
            currency=currency or "USD",
        )
        for key in set(now) | set(before)
        if key != TAX_LINE
    ]
    movers = [m for m in movers if m.delta != 0]
    movers.sort(key=lambda m: (-abs(m.delta), m.key))
    return movers[:n]


def _by_key(
    values: SpendSummary | Mapping[str, Decimal], currency: str | None
) -> dict[str, Decimal]:
    if not isinstance(values, SpendSummary):
        return dict(values)
    out: dict[str, Decimal] = {}
    for line in values.lines:
        if currency is None or line.currency == currency:
            out[line.key] = out.get(line.key, Decimal(0)) + line.cost
    return out


def month_to_date(today: date) -> tuple[date, date]:
    """[first of the month, tomorrow): the period `mtd` means."""
    return today.replace(day=1), today + timedelta(days=1)
