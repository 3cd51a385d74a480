"""Spend anomalies: day over day and against the rolling baseline, with what the message says;
and the detector end to end on a small fake cost source."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from bot.incidents.alerts import SubjectKind
from bot.incidents.detectors.spend import anomaly, spend_anomalies
from bot.ops_config.incidents import SpendAnomalyDetector
from integrations.hub import Sources
from integrations.models import ProbeResult, SpendQuery, SpendSummary
from tests.incidents.detectors.conftest import DEMO_NOW, deps_for, example_config

DAY = date(2026, 11, 22)
RULE = SpendAnomalyDetector()  # 3σ over 28 days, +100% day over day, $100 at least


def flat(value: float, days: int = 40, *, end: date = DAY) -> dict[date, Decimal]:
    return {end - timedelta(days=n): Decimal(str(value)) for n in range(days)}


def noisy(days: int = 40) -> dict[date, Decimal]:
    # 200, 220, 180, 200, ...: mean ~200, σ ~16
    pattern = (200, 220, 180)
    return {DAY - timedelta(days=n): Decimal(pattern[n % 3]) for n in range(days)}


def test_a_doubling_on_the_day_before_says_by_how_much_and_how_many_sigma():
    series = noisy()
    series[DAY] = Decimal(612)  # the day before (n=1) is 220
    found = anomaly(series, DAY, "USD", RULE)
    assert found is not None
    assert found.reasons[0] == "+$392.00 (+178%) vs the day before"
    assert "σ above the 28-day mean ($200." in found.reasons[1]
    sigma = float(found.reasons[1].split("σ")[0])
    assert sigma > 20


def test_a_slow_rise_that_only_the_baseline_sees_names_the_baseline_only():
    series = noisy()
    series[DAY] = Decimal(330)  # +50% on the day before: under 100%, but far above the mean
    series[DAY - timedelta(days=1)] = Decimal(220)
    found = anomaly(series, DAY, "USD", RULE)
    assert found is not None and len(found.reasons) == 1
    assert "σ above the 28-day mean ($2" in found.reasons[0]


def test_normal_noise_and_drops_are_not_anomalies():
    assert anomaly(noisy(), DAY, "USD", RULE) is None
    dropped = noisy()
    dropped[DAY] = Decimal(20)
    assert anomaly(dropped, DAY, "USD", RULE) is None


def test_an_increase_under_min_increase_never_counts_however_many_percent():
    series = flat(10)
    series[DAY] = Decimal(90)  # +800% and infinitely many σ above a flat mean, but only +$80
    assert anomaly(series, DAY, "USD", RULE) is None
    assert anomaly(series, DAY, "USD", RULE.model_copy(update={"min_increase": 50})) is not None


def test_a_weekly_jobs_run_day_is_not_a_day_over_day_anomaly():
    series = flat(100)
    for n in range(0, 40, 7):  # every 7th day costs 500: the weekly training
        series[DAY - timedelta(days=n)] = Decimal(500)
    found = anomaly(series, DAY, "USD", RULE.model_copy(update={"threshold_sigma": 10}))
    assert found is None
    series[DAY - timedelta(days=7)] = Decimal(100)  # last week's run day was quiet: news
    found = anomaly(series, DAY, "USD", RULE.model_copy(update={"threshold_sigma": 10}))
    assert found is not None and "vs the day before" in found.reasons[0]


def test_without_a_weeks_history_there_is_no_baseline():
    series = flat(200, days=5)
    series[DAY] = Decimal(260)
    assert anomaly(series, DAY, "USD", RULE) is None  # +30%, and no baseline to judge by
    series[DAY] = Decimal(1000)
    found = anomaly(series, DAY, "USD", RULE)
    assert found is not None and [r for r in found.reasons if "σ" in r] == []


class FakeCosts:
    """A cost source with a daily amount per team; `spike` sets one day's spend of one team."""

    name = "fakecosts"

    def __init__(self, daily: dict[str, float], spike: dict[tuple[str, date], float]) -> None:
        self.daily, self.spike = daily, spike

    async def probe(self) -> ProbeResult:
        return ProbeResult(source=self.name, reachable=True)

    async def spend(self, query: SpendQuery) -> SpendSummary:
        rows = []
        day = query.start
        while day < query.end:
            for team, amount in self.daily.items():
                if query.team in (None, team) and query.model is None:
                    cost = Decimal(str(self.spike.get((team, day), amount)))
                    rows.append((day, "USD", cost))
            day += timedelta(days=1)
        total = sum((c for _d, _cur, c in rows), Decimal(0))
        merged: dict[date, Decimal] = {}
        for d, _cur, c in rows:
            merged[d] = merged.get(d, Decimal(0)) + c
        return SpendSummary(
            query=query,
            totals={"USD": total},
            daily=tuple((d, "USD", c) for d, c in sorted(merged.items())),
        )


async def test_the_detector_fires_for_the_team_whose_spend_jumped_yesterday():
    config = example_config()
    yesterday = DEMO_NOW.date() - timedelta(days=1)
    costs = FakeCosts(
        {"data-eng": 1000, "ml-platform": 2000, "analytics": 300},
        {("ml-platform", yesterday): 4500, ("analytics", yesterday - timedelta(days=3)): 900},
    )
    found = await spend_anomalies(deps_for(Sources(costs=[costs]), config, DEMO_NOW))
    assert found.complete
    (event,) = found.firing
    assert event.dedup_key == "spend:team:ml-platform:anomaly"
    assert event.subject.kind is SubjectKind.team and event.subject.name == "ml-platform"
    assert "$4,500" in event.title and f"{yesterday:%b %d}" in event.title
    assert "+$2,500 (+125%) vs the day before" in event.summary
    assert "σ above the 28-day mean" not in event.summary  # a flat baseline has no σ
    assert "above the 28-day mean ($2,000" in event.summary
