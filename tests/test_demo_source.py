"""The demo company: deterministic, realistic, scripted situations, and every Protocol honoured."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from integrations.demo import DemoCompany
from integrations.demo.catalog import DRIFT_THRESHOLD, LATENCY_P95_MS
from integrations.demo.company import generator_key
from integrations.errors import SourceNotFound
from integrations.focus import FocusCostSource
from integrations.focus.analysis import (
    daily_series,
    forecast_month_end,
    month_to_date,
    previous_period,
    top_movers,
)
from integrations.models import (
    Budget,
    CostMeasure,
    RunState,
    SpendDimension,
    SpendQuery,
)
from integrations.protocols import (
    BudgetStore,
    CostSource,
    MetricsSource,
    ModelRegistry,
    PipelineSource,
)

pytestmark = pytest.mark.slow  # the generator itself: companies of many days, each generated

TODAY = date(2025, 11, 23)
NOW = datetime(2025, 11, 23, 14, 37, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> DemoCompany:
    return DemoCompany(seed=42, now=NOW)


def last_30_days(today: date = TODAY, **kw: object) -> SpendQuery:
    return SpendQuery(start=today - timedelta(days=29), end=today + timedelta(days=1), **kw)


# -- determinism -------------------------------------------------------------------------------
@pytest.mark.fresh_demo  # two companies really built, not the session's shared copy
async def test_same_seed_and_date_give_identical_data():
    a, b = DemoCompany(seed=7, today=TODAY), DemoCompany(seed=7, today=TODAY)
    assert a.spend_columns() == b.spend_columns()
    assert await a.runs_since(datetime(2000, 1, 1, tzinfo=UTC)) == await b.runs_since(
        datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert await a.versions("churn") == await b.versions("churn")
    assert await a.model_health("recs") == await b.model_health("recs")


def test_a_different_seed_gives_different_data():
    assert (
        DemoCompany(seed=1, today=TODAY).spend_columns()["EffectiveCost"]
        != DemoCompany(seed=2, today=TODAY).spend_columns()["EffectiveCost"]
    )


@pytest.mark.parametrize("today", [date(2024, 2, 29), TODAY, date(2026, 1, 1)])
async def test_the_90_day_window_ends_on_the_given_day(today: date):
    demo = DemoCompany(seed=42, today=today)
    usage = [
        start.date()
        for start, cat in zip(
            demo.spend_columns()["ChargePeriodStart"],
            demo.spend_columns()["ChargeCategory"],
            strict=True,
        )
        if cat == "Usage"
    ]
    assert min(usage) == today - timedelta(days=89) and max(usage) == today
    recent = await demo.spend(last_30_days(today))
    assert recent.totals["USD"] > 0 and len(daily_series(recent)) == 30
    runs = await demo.recent_runs("nightly_orders", limit=1)
    assert runs[0].scheduled_for and runs[0].scheduled_for.date() == today


def test_generation_stays_small_enough_to_build_at_start_up():
    # The work grows with the rows; a limit in seconds measured how busy the machine was.
    columns = DemoCompany(seed=3, today=TODAY).spend_columns()
    assert 1000 < len(columns["BilledCost"]) <= 60_000


# -- shape of the company ----------------------------------------------------------------------
async def test_about_forty_pipelines_twelve_models_three_teams(demo: DemoCompany):
    pipelines = await demo.list_pipelines()
    models = await demo.list_models()
    assert 38 <= len(pipelines) <= 42 and len(models) == 12
    assert demo.teams == ("data-eng", "ml-platform", "analytics")
    assert {p.name for p in pipelines} >= {
        "nightly_orders",
        "hourly_events_ingest",
        "churn_features",
        "churn_training",
        "fraud_training",
        "ltv_training",
        "recs_embeddings",
        "finance_daily_rollup",
        "marketing_attribution",
    }
    assert all(p.schedule and p.sla for p in pipelines)
    owners = demo.owners
    assert set(owners["pipelines"]) == {p.name for p in pipelines}
    assert set(owners["models"]) == {m.name for m in models}
    assert set(owners["pipelines"].values()) == set(demo.teams)


async def test_runs_cover_90_days_with_noisy_durations(demo: DemoCompany):
    runs = await demo.recent_runs("churn_features", limit=1000)
    assert len(runs) == 90
    durations = {r.duration for r in runs if r.duration}
    assert len(durations) > 80  # noise: no two runs take exactly as long
    hourly = await demo.recent_runs("hourly_events_ingest", limit=5000)
    assert 89 * 24 <= len(hourly) <= 90 * 24


async def test_lineage_links_known_pipelines_to_registered_models(demo: DemoCompany):
    names = {p.name for p in await demo.list_pipelines()}
    models = {m.name for m in await demo.list_models()}
    for pipeline, links in demo.lineage.items():
        assert pipeline in names
        assert set(links["trains"]) | set(links["feeds"]) <= models
    assert demo.lineage["churn_training"]["trains"] == ["churn"]
    assert "churn" in demo.lineage["nightly_orders"]["feeds"]


# -- scripted situations -----------------------------------------------------------------------
async def test_nightly_orders_fails_on_load_to_warehouse_since_yesterday(demo: DemoCompany):
    runs = await demo.recent_runs("nightly_orders", limit=5)
    yesterday = TODAY - timedelta(days=1)
    failing = [r for r in runs if r.scheduled_for and r.scheduled_for.date() >= yesterday]
    assert len(failing) == 2  # yesterday's and today's (02:00 UTC) runs
    for run in failing:
        assert run.state is RunState.failed and run.failed_task == "load_to_warehouse"
        assert run.error and "Disk Full" in run.error
        assert run.log_url and run.log_url.endswith("/tasks/load_to_warehouse/logs")
    assert runs[2].state is RunState.success  # the day before yesterday was fine


async def test_a_few_pipelines_fail_one_is_late_and_one_runs_now(demo: DemoCompany):
    statuses = {p.name: demo.pipeline_status(p.name) for p in await demo.list_pipelines()}
    failing = {n for n, s in statuses.items() if s.last_run and s.last_run.state is RunState.failed}
    assert failing == {"nightly_orders", "crm_contacts_ingest", "ad_ctr_features"}
    late = {n for n, s in statuses.items() if s.late} - failing
    assert late == {"finance_daily_rollup"}
    assert statuses["finance_daily_rollup"].last_run.state is RunState.queued  # type: ignore[union-attr]
    assert statuses["hourly_events_ingest"].last_run.state is RunState.running  # type: ignore[union-attr]


async def test_recs_and_churn_drift_search_ranking_is_slow_the_rest_are_healthy(
    demo: DemoCompany,
):
    health = {m.name: await demo.model_health(m.name) for m in await demo.list_models()}
    assert health["recs"].drift and health["recs"].drift > DRIFT_THRESHOLD
    # churn scores on the stale features of the failing nightly_orders (the demo's cascade)
    assert health["churn"].drift and health["churn"].drift > DRIFT_THRESHOLD
    assert health["search_ranking"].latency_p95_ms and (
        health["search_ranking"].latency_p95_ms > LATENCY_P95_MS
    )
    unhealthy = {name for name, h in health.items() if not h.healthy}
    assert unhealthy == {"churn", "recs", "search_ranking"}


async def test_models_have_versions_metrics_and_champion_challenger_aliases(demo: DemoCompany):
    churn = await demo.get_model("churn")
    assert churn and churn.aliases == {"champion": "12", "challenger": "14"}
    versions = await demo.versions("churn")
    assert [v.version for v in versions] == [str(n) for n in range(14, 0, -1)]
    assert versions[0].aliases == ("challenger",) and "auc" in versions[0].metrics
    assert versions[0].metrics["auc"] > versions[-1].metrics["auc"]
    assert "rmse" in (await demo.versions("ltv"))[0].metrics
    assert not (await demo.get_model("price_elasticity")).aliases.get("challenger")  # type: ignore[union-attr]


async def test_promoting_moves_the_alias_and_rejects_unknown_versions():
    demo = DemoCompany(seed=42, now=NOW)
    await demo.set_alias("churn", "champion", "14")
    assert (await demo.get_model("churn")).aliases["champion"] == "14"  # type: ignore[union-attr]
    assert (await demo.versions("churn"))[0].aliases == ("champion", "challenger")
    with pytest.raises(SourceNotFound):
        await demo.set_alias("churn", "champion", "99")
    with pytest.raises(SourceNotFound):
        await demo.set_alias("nope", "champion", "1")


@pytest.mark.parametrize("day", [1, 5, 9, 15, 23, 28, 31])
async def test_ml_platform_is_the_one_team_over_budget_this_month(day: int):
    today = date(2025, 10, min(day, calendar.monthrange(2025, 10)[1]))
    demo = DemoCompany(seed=42, today=today)
    start, end = month_to_date(today)
    budgets = {b.team: b.monthly for b in await demo.budgets()}
    assert budgets == {"data-eng": 45000, "ml-platform": 60000, "analytics": 20000}
    over = set()
    for team, budget in budgets.items():
        mtd = await demo.spend(SpendQuery(start=start, end=end, team=team))
        if forecast_month_end(daily_series(mtd, "USD"), today) > budget:
            over.add(team)
    assert over == {"ml-platform"}
    previous = await demo.spend(
        SpendQuery(start=date(2025, 9, 1), end=date(2025, 10, 1), team="ml-platform")
    )
    if today.day >= 10:  # September is fully inside the window: it stayed under budget
        assert previous.totals["USD"] < budgets["ml-platform"]


async def test_gpu_training_is_the_top_mover(demo: DemoCompany):
    by_service = last_30_days(group_by=SpendDimension.service)
    movers = top_movers(await demo.spend(by_service), await demo.spend(previous_period(by_service)))
    assert movers[0].key == "Amazon SageMaker" and movers[0].delta > 10_000
    by_pipeline = last_30_days(group_by=SpendDimension.pipeline, team="ml-platform")
    movers = top_movers(
        await demo.spend(by_pipeline), await demo.spend(previous_period(by_pipeline))
    )
    assert movers[0].key == "recs_training"
    jump = await demo.spend(
        SpendQuery(
            start=TODAY - timedelta(days=9), end=TODAY + timedelta(days=1), team="ml-platform"
        )
    )
    before = await demo.spend(
        SpendQuery(
            start=TODAY - timedelta(days=19), end=TODAY - timedelta(days=9), team="ml-platform"
        )
    )
    assert jump.totals["USD"] > Decimal("1.5") * before.totals["USD"]


# -- protocols and equality with the FOCUS path ------------------------------------------------
def test_every_protocol_is_satisfied(demo: DemoCompany):
    for protocol in (PipelineSource, ModelRegistry, MetricsSource, CostSource, BudgetStore):
        assert isinstance(demo, protocol), protocol.__name__


async def test_probe_and_budget_store(demo: DemoCompany):
    probe = await demo.probe()
    assert probe.reachable and "41 pipelines" in probe.detail
    store = DemoCompany(seed=42, today=TODAY)
    await store.set_budget(Budget(team="analytics", monthly=Decimal(25000), source="store"))
    assert {b.team: b.monthly for b in await store.budgets()}["analytics"] == 25000


async def test_runs_since_and_unknown_names(demo: DemoCompany):
    since = NOW - timedelta(hours=6)
    runs = await demo.runs_since(since)
    stamps = [r.started_at or r.scheduled_for for r in runs]
    assert runs and all(s and s >= since for s in stamps)
    assert stamps == sorted(stamps, reverse=True)
    with pytest.raises(SourceNotFound):
        await demo.recent_runs("no_such_pipeline")
    with pytest.raises(SourceNotFound):
        await demo.model_health("no_such_model")
    assert await demo.get_model("no_such_model") is None


QUERIES = [
    last_30_days(group_by=SpendDimension.team),
    last_30_days(group_by=SpendDimension.service, team="ml-platform"),
    last_30_days(group_by=SpendDimension.model),
    last_30_days(group_by=SpendDimension.pipeline, team="data-eng"),
    last_30_days(group_by=SpendDimension.charge_category, measure=CostMeasure.billed),
    SpendQuery(
        start=TODAY - timedelta(days=89),
        end=TODAY + timedelta(days=1),
        group_by=SpendDimension.provider,
    ),
    last_30_days(group_by=SpendDimension.day, team="unallocated"),
]


def _lines(summary):  # (key, currency) -> cost, independent of line order and Decimal scale
    return {(line.key, line.currency): line.cost for line in summary.lines}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_demo_spend_equals_the_focus_source_over_its_written_files(demo, tmp_path, fmt):
    demo.write_focus(tmp_path, fmt=fmt)
    files = FocusCostSource(str(tmp_path / f"*.{fmt}"), allocation=demo.allocation)
    for query in QUERIES:
        ours, theirs = await demo.spend(query), await files.spend(query)
        assert _lines(ours) == _lines(theirs), query
        assert ours.totals == theirs.totals and ours.daily == theirs.daily
        assert ours.rows_scanned == theirs.rows_scanned > 0


async def test_demo_spend_per_team_matches_its_rows_summed_with_pandas(demo: DemoCompany):
    frame = pd.DataFrame(demo.spend_columns())
    frame["day"] = pd.to_datetime(frame["ChargePeriodStart"], utc=True).dt.date
    frame = frame[(frame["day"] >= TODAY - timedelta(days=29)) & (frame["day"] <= TODAY)]

    def team(raw: object) -> str:
        tags = json.loads(raw) if isinstance(raw, str) else {}
        for key, rules in demo.allocation.items():
            if tags.get(key) in rules:
                return rules[tags[key]]
        return tags.get("team") or "unallocated"

    want = frame.groupby(frame["Tags"].map(team))["EffectiveCost"].sum()
    got = _lines(await demo.spend(last_30_days(group_by=SpendDimension.team)))
    assert {k for k, _ in got} == set(want.index)
    for key, value in want.items():
        assert float(got[(key, "USD")]) == pytest.approx(value, abs=1e-4)


async def test_by_default_the_company_ends_today_so_last_30_days_has_data():
    demo = DemoCompany()
    assert demo.today == date.today()
    recent = await demo.spend(last_30_days(date.today(), group_by=SpendDimension.team))
    assert {line.key for line in recent.lines} >= {"data-eng", "ml-platform", "analytics"}


# -- the CLI's shared spend cache ------------------------------------------------------------------
SPEND_30D = SpendQuery(start=TODAY - timedelta(days=29), end=TODAY)


def _count_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    real = DemoCompany.write_focus

    def counting(self: DemoCompany, directory, *args, **kwargs):  # type: ignore[no-untyped-def]
        written.append(str(directory))
        return real(self, directory, *args, **kwargs)

    monkeypatch.setattr(DemoCompany, "write_focus", counting)
    return written


async def test_a_shared_cache_is_written_once_and_read_by_the_next_process(tmp_path, monkeypatch):
    written = _count_writes(monkeypatch)
    first = await DemoCompany(now=NOW, cache_dir=tmp_path).spend(SPEND_30D)
    again = await DemoCompany(now=NOW, cache_dir=tmp_path).spend(SPEND_30D)
    fresh = await DemoCompany(now=NOW).spend(SPEND_30D)  # no cache: its own files
    assert len(written) == 2  # the first cached company and the uncached one; not the second
    assert first.totals == again.totals == fresh.totals and first.totals["USD"] > 0
    assert [p.name for p in tmp_path.iterdir()] == [f"seed42-{TODAY}-{generator_key()}"]


async def test_a_new_day_or_new_generator_code_replaces_the_cached_copy(tmp_path, monkeypatch):
    written = _count_writes(monkeypatch)
    DemoCompany(now=NOW, cache_dir=tmp_path).cost_source()
    DemoCompany(now=NOW + timedelta(days=1), cache_dir=tmp_path).cost_source()
    assert [p.name for p in tmp_path.iterdir()] == [
        f"seed42-{TODAY + timedelta(days=1)}-{generator_key()}"
    ]
    monkeypatch.setattr("integrations.demo.company.generator_key", lambda: "changedcode0")
    DemoCompany(now=NOW, cache_dir=tmp_path).cost_source()
    assert [p.name for p in tmp_path.iterdir()] == [f"seed42-{TODAY}-changedcode0"]
    DemoCompany(now=NOW, seed=7, cache_dir=tmp_path).cost_source()  # another seed is kept apart
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"seed42-{TODAY}-changedcode0",
        f"seed7-{TODAY}-changedcode0",
    ]
    assert len(written) == 4


async def test_losing_the_race_to_publish_the_cache_uses_the_winners_copy(tmp_path, monkeypatch):
    # Another process renames its complete copy into place while this one is still writing.
    winner = DemoCompany(now=NOW, cache_dir=tmp_path / "elsewhere")
    winner.cost_source()
    (won,) = (tmp_path / "elsewhere").iterdir()
    real = DemoCompany.write_focus

    def raced(self: DemoCompany, directory, *args, **kwargs):  # type: ignore[no-untyped-def]
        paths = real(self, directory, *args, **kwargs)
        if won.exists():
            won.rename(tmp_path / won.name)
        return paths

    monkeypatch.setattr(DemoCompany, "write_focus", raced)
    loser = DemoCompany(now=NOW, cache_dir=tmp_path)
    summary = await loser.spend(SPEND_30D)
    assert summary.totals == (await DemoCompany(now=NOW).spend(SPEND_30D)).totals
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", won.name]  # no staging
