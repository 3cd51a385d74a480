"""Budget burn: month to date, month-end forecast, breach date, alert thresholds, drivers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bot.answers.budgets import breach_date, budget_board, budget_line
from integrations.models import Budget, SpendDimension, SpendQuery, SpendSummary

TODAY = date(2026, 11, 23)


def summary(daily: dict[date, str], currency: str = "USD") -> SpendSummary:
    rows = tuple((d, currency, Decimal(v)) for d, v in sorted(daily.items()))
    total = sum((Decimal(v) for v in daily.values()), Decimal(0))
    return SpendSummary(
        query=SpendQuery(start=TODAY.replace(day=1), end=TODAY + timedelta(days=1)),
        totals={currency: total},
        daily=rows,
    )


def month_of(per_day: str, days: int) -> dict[date, str]:
    return {date(2026, 11, d): per_day for d in range(1, days + 1)}


def test_run_rate_that_reaches_the_budget_gives_the_day_it_will():
    # 100 a day for 10 days = 1,000 spent; 1,500 is reached after 5 more days: 15 Nov
    assert breach_date(
        {d: Decimal(v) for d, v in month_of("100", 10).items()}, Decimal(1500), date(2026, 11, 10)
    ) == date(2026, 11, 15)


def test_budget_already_spent_gives_the_day_it_was_crossed():
    daily = {d: Decimal(v) for d, v in month_of("100", 20).items()}
    assert breach_date(daily, Decimal(1000), date(2026, 11, 20)) == date(2026, 11, 10)


def test_no_breach_date_when_the_run_rate_stays_under_the_budget_this_month():
    daily = {d: Decimal(v) for d, v in month_of("10", 23).items()}
    assert breach_date(daily, Decimal(1000), TODAY) is None


def test_line_counts_alert_thresholds_crossed_and_those_the_forecast_crosses():
    budget = Budget(team="t", monthly=Decimal(3000), alert_at=(0.5, 0.8, 1.0))
    line = budget_line(budget, summary(month_of("60", 23)), TODAY)  # 1,380 spent; 1,800 forecast
    assert line.spent_mtd == Decimal(1380)
    assert line.forecast == Decimal("1800.00")
    assert line.crossed == ()  # 46%
    assert line.will_cross == (0.5,)  # forecast 60%
    assert not line.at_risk and line.breach_on is None
    assert line.burn == pytest.approx(0.46)


def test_spend_in_another_currency_is_never_counted_against_the_budget():
    both = summary(month_of("100", 23))
    eur = summary(month_of("999", 23), currency="EUR")
    mixed = both.model_copy(
        update={"daily": both.daily + eur.daily, "totals": {**both.totals, **eur.totals}}
    )
    line = budget_line(Budget(team="t", monthly=Decimal(5000)), mixed, TODAY)
    assert line.spent_mtd == Decimal(2300)
    assert line.other_currencies == {"EUR": Decimal(999 * 23)}


async def test_ml_platform_will_go_over_its_60000_budget_in_the_demo(deps):
    board = await budget_board(deps)
    assert not board.problems
    by_team = {line.team: line for line in board.lines}
    assert set(by_team) == {"data-eng", "ml-platform", "analytics"}
    assert board.without_budget == ("finance",)

    # independently: the team's month to date straight from the hub, forecast by hand
    direct = await deps.sources.spend(
        SpendQuery(start=date(2026, 11, 1), end=date(2026, 11, 24), team="ml-platform")
    )
    spent = direct.value.totals["USD"]
    last_day = max(d for d, _, _ in direct.value.daily)
    expected = (spent / last_day.day * 30).quantize(Decimal("0.01"))
    ml = by_team["ml-platform"]
    assert ml.spent_mtd == spent
    assert abs(ml.forecast - expected) <= Decimal("0.01")
    assert ml.forecast > Decimal(60000) and ml.at_risk
    assert ml.breach_on is not None and TODAY < ml.breach_on <= date(2026, 11, 30)
    assert board.at_risk == [ml] and board.lines[0] is ml  # at-risk teams first
    assert not by_team["analytics"].at_risk and not by_team["data-eng"].at_risk


async def test_drivers_of_an_at_risk_team_are_its_biggest_services_and_models(deps):
    (line,) = (await budget_board(deps, team="ml-platform")).lines
    services = await deps.sources.spend(
        SpendQuery(
            start=date(2026, 11, 1),
            end=date(2026, 11, 24),
            team="ml-platform",
            group_by=SpendDimension.service,
        )
    )
    biggest = services.value.lines[0]
    assert line.drivers[0] == (biggest.key, biggest.cost)
    assert any(name == "model recs" for name, _ in line.drivers)


async def test_a_team_without_a_budget_has_no_status(deps):
    board = await budget_board(deps, team="finance")
    assert board.lines == [] and board.without_budget == ("finance",)
