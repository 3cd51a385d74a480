"""FocusCostSource answers, checked against an independent pandas computation over the same rows.

The expected side never touches the source's SQL: it parses the rows with pandas, converts
ChargePeriodStart to the local day with pandas' timezone support, allocates teams with a small
Python re-statement of the documented rule, and sums. Files are CSV (written by pandas) and
Parquet (converted from that CSV), in FOCUS 1.2 and 1.3 shapes.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import date
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from integrations.errors import SourceDataError, SourceNotFound, SourceUnavailable
from integrations.focus import FocusCostSource
from integrations.focus.analysis import (
    daily_series,
    forecast_month_end,
    previous_period,
    top_movers,
)
from integrations.models import TAX_LINE, CostMeasure, SpendDimension, SpendQuery, SpendSummary

SERVICES = [
    ("Amazon EC2", "AWS"),
    ("Amazon S3", "AWS"),
    ("Amazon SageMaker", "AWS"),
    ("Google BigQuery", "Google Cloud"),
    ("Snowflake Data Cloud", "AWS"),
]
TEAMS = ["data-eng", "ml-platform", "analytics"]
ALLOCATION = {
    "cost_center": {"CC-2001": "ml-platform", "CC-3*": "analytics"},
    "team": {"ml": "ml-platform"},
}
# Hours around two month ends and the spring/autumn DST changes of Berlin and Los Angeles.
WINDOWS = [("2025-02-26", 6), ("2025-03-07", 4), ("2025-03-28", 6), ("2025-10-24", 11)]


def _rows(seed: int = 7) -> pd.DataFrame:
    rng = random.Random(seed)
    hours = [
        pd.Timestamp(start, tz="UTC") + pd.Timedelta(hours=h)
        for start, days in WINDOWS
        for h in range(days * 24)
    ]
    rows = []
    for _ in range(3000):
        service, provider = rng.choice(SERVICES)
        category = rng.choices(
            ["Usage", "Credit", "Purchase", "Tax", "Adjustment"], [80, 6, 4, 5, 5]
        )[0]
        billed = round(rng.uniform(0.01, 90), 4)
        effective = billed
        if category == "Credit":
            billed = effective = -billed
        elif category == "Purchase":
            effective = 0.0  # amortised into usage elsewhere
        elif category == "Usage" and rng.random() < 0.1:
            billed = 0.0  # usage covered by a commitment
        tags: dict[str, str] = {}
        shape = rng.random()
        if shape < 0.55:
            tags["team"] = rng.choice(TEAMS)
        elif shape < 0.62:
            tags["team"] = "ml"  # legacy value, mapped by a rule
        elif shape < 0.70:
            tags["cost_center"] = rng.choice(["CC-2001", "CC-3001", "CC-3555", "CC-9999"])
        elif shape < 0.73:
            tags["team"] = ""  # empty value: unallocated
        if rng.random() < 0.5:
            tags["model"] = rng.choice(["churn", "recs", "fraud"])
        if rng.random() < 0.4:
            tags["pipeline"] = rng.choice(["nightly_orders", "recs_training"])
        start = rng.choice(hours)
        rows.append(
            {
                "BilledCost": billed,
                "EffectiveCost": effective,
                "BillingCurrency": "EUR" if rng.random() < 0.2 else "USD",
                "ChargePeriodStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ChargePeriodEnd": (start + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ChargeCategory": category,
                "ServiceName": service,
                "ProviderName": provider,
                "PublisherName": "Snowflake" if service.startswith("Snowflake") else provider,
                "Tags": (json.dumps(tags) if tags else None) if rng.random() > 0.05 else None,
                "x_EffectiveCost": 1e9,  # an extension column that must be ignored
            }
        )
    return pd.DataFrame(rows)


def _with_accounts(frame: pd.DataFrame) -> pd.DataFrame:
    """Billing accounts (one unnamed) and sub-accounts (some rows without one), by row number so
    the random rows above stay as they are."""
    out = frame.copy()
    n = pd.Series(range(len(out)), index=out.index)
    out["BillingAccountId"] = n.map(lambda i: ("1111", "2222", "3333")[i % 3])
    out["BillingAccountName"] = n.map(lambda i: ("payer-eu", "payer-us", None)[i % 3])
    out["SubAccountId"] = n.map(lambda i: None if i % 5 == 0 else f"proj-{i % 4}")
    out["SubAccountName"] = n.map(lambda i: None if i % 4 == 3 else f"Project {i % 4}")
    return out


ROWS = _with_accounts(_rows())


def _as_13(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.rename(columns={"PublisherName": "ServiceProviderName"})
    out["HostProviderName"] = frame["ProviderName"]
    return out.drop(columns=["ProviderName"])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """{(format, version): path} for the same rows in four shapes."""
    base = tmp_path_factory.mktemp("focus")
    out = {}
    for version, frame in (("1.2", ROWS), ("1.3", _as_13(ROWS))):
        csv = base / f"v{version}" / "focus-2025.csv"
        csv.parent.mkdir()
        frame.to_csv(csv, index=False)
        out[("csv", version)] = csv
        parquet = base / f"v{version}" / "focus-2025.parquet"
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        rel = con.read_csv(
            str(csv),
            header=True,
            dtype={
                "ChargePeriodStart": "TIMESTAMPTZ",
                "ChargePeriodEnd": "TIMESTAMPTZ",
                "BilledCost": "DOUBLE",
                "EffectiveCost": "DOUBLE",
                "Tags": "VARCHAR",
            },
        )
        rel.project("* REPLACE (CAST(Tags AS JSON) AS Tags)").write_parquet(str(parquet))
        con.close()
        out[("parquet", version)] = parquet
    return out


# -- the independent expectation -------------------------------------------------------------
def _team(tags: dict[str, str], allocation: dict[str, dict[str, str]] | None) -> str:
    for key, rules in (allocation or {}).items():
        for pattern, team in rules.items():
            value = tags.get(key)
            if value is not None and fnmatchcase(str(value), pattern):
                return team
    return tags.get("team") or "unallocated"


def _account(name: object, id_: str) -> str:
    """An account as answers show it: "name (id)", or the id alone when it has no name."""
    return f"{name} ({id_})" if isinstance(name, str) and name else id_


def expected(
    query: SpendQuery,
    *,
    tz: str = "UTC",
    measure: str = "EffectiveCost",
    allocation: dict[str, dict[str, str]] | None = None,
) -> dict[str, object]:
    frame = ROWS.copy()
    tags = frame["Tags"].map(lambda t: json.loads(t) if isinstance(t, str) else {})
    frame["team"] = tags.map(lambda t: _team(t, allocation))
    frame["model"] = tags.map(lambda t: t.get("model") or "unallocated")
    frame["pipeline"] = tags.map(lambda t: t.get("pipeline") or "unallocated")
    local = pd.to_datetime(frame["ChargePeriodStart"], utc=True).dt.tz_convert(tz)
    frame["day"] = local.dt.date
    frame["account"] = [
        _account(name, id_)
        for name, id_ in zip(frame["BillingAccountName"], frame["BillingAccountId"], strict=True)
    ]
    frame["sub_account"] = [
        _account(name, id_) if isinstance(id_, str) else "unknown"
        for name, id_ in zip(frame["SubAccountName"], frame["SubAccountId"], strict=True)
    ]
    # By service, every Tax row is the one tax line, whatever service it names.
    frame["service"] = frame["ServiceName"].where(frame["ChargeCategory"] != "Tax", TAX_LINE)
    keep = (frame["day"] >= query.start) & (frame["day"] < query.end)
    for dim, column in (
        ("team", "team"),
        ("model", "model"),
        ("pipeline", "pipeline"),
        ("service", "ServiceName"),
    ):
        if getattr(query, dim) is not None:
            keep &= frame[column] == getattr(query, dim)
    frame = frame[keep]
    key = {
        None: None,
        "service": "service",
        "provider": "ProviderName",
        "team": "team",
        "model": "model",
        "pipeline": "pipeline",
        "day": "day",
        "charge_category": "ChargeCategory",
        "account": "account",
        "sub_account": "sub_account",
    }[query.group_by and str(query.group_by)]
    keys = frame[key].astype(str) if key else pd.Series("total", index=frame.index)
    lines = frame.groupby([keys, frame["BillingCurrency"]])[measure].sum()
    daily = frame.groupby([frame["day"], frame["BillingCurrency"]])[measure].sum()
    return {
        "lines": {(str(k), c): float(v) for (k, c), v in lines.items()},
        "totals": {c: float(v) for c, v in frame.groupby("BillingCurrency")[measure].sum().items()},
        "daily": {(d, c): float(v) for (d, c), v in daily.items()},
        "rows": len(frame),
    }


def assert_matches(summary: SpendSummary, want: dict[str, object]) -> None:
    got_lines = {(line.key, line.currency): float(line.cost) for line in summary.lines}
    assert got_lines.keys() == want["lines"].keys()  # type: ignore[union-attr]
    for key, value in want["lines"].items():  # type: ignore[union-attr]
        assert got_lines[key] == pytest.approx(value, abs=1e-6), key
    assert {c: float(v) for c, v in summary.totals.items()} == pytest.approx(want["totals"])
    got_daily = {(d, c): float(v) for d, c, v in summary.daily}
    assert got_daily == pytest.approx(want["daily"])
    assert summary.rows_scanned == want["rows"]


SHAPES = [("csv", "1.2"), ("parquet", "1.2"), ("csv", "1.3"), ("parquet", "1.3")]
FEB_TO_MAR = dict(start=date(2025, 2, 26), end=date(2025, 3, 12))


@pytest.mark.parametrize("fmt,version", SHAPES)
@pytest.mark.parametrize("group_by", [None, *SpendDimension])
async def test_every_grouping_matches_pandas_in_every_file_shape(files, fmt, version, group_by):
    source = FocusCostSource(str(files[(fmt, version)]), version=version)
    query = SpendQuery(**FEB_TO_MAR, group_by=group_by)
    want = expected(query)
    if group_by is SpendDimension.provider and version == "1.3":
        # 1.3 names the service provider: Snowflake sold on AWS Marketplace is Snowflake's.
        want = expected(query.model_copy(update={"group_by": None}))
        got = await source.spend(query)
        assert {line.key for line in got.lines} == {"AWS", "Google Cloud", "Snowflake"}
        assert {c: float(v) for c, v in got.totals.items()} == pytest.approx(want["totals"])
        return
    assert_matches(await source.spend(query), want)


@pytest.mark.parametrize("fmt,version", SHAPES)
async def test_filters_by_team_model_pipeline_and_service_match_pandas(files, fmt, version):
    source = FocusCostSource(str(files[(fmt, version)]), version=version)
    for filters in (
        {"team": "ml-platform"},
        {"team": "unallocated"},
        {"model": "recs"},
        {"pipeline": "unallocated"},
        {"service": "Amazon S3", "team": "data-eng"},
        {"model": "churn", "pipeline": "nightly_orders"},
    ):
        query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.service, **filters)
        assert_matches(await source.spend(query), expected(query))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_allocation_rules_map_cost_centres_and_legacy_tags_to_teams(files, fmt):
    source = FocusCostSource(str(files[(fmt, "1.2")]), allocation=ALLOCATION)
    query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team)
    got = await source.spend(query)
    assert_matches(got, expected(query, allocation=ALLOCATION))
    assert "ml" not in {line.key for line in got.lines}  # the legacy value was mapped
    for team in ("ml-platform", "analytics", "unallocated"):
        filtered = SpendQuery(**FEB_TO_MAR, team=team, group_by=SpendDimension.service)
        assert_matches(await source.spend(filtered), expected(filtered, allocation=ALLOCATION))


async def test_rows_without_a_team_are_unallocated(files):
    source = FocusCostSource(str(files[("parquet", "1.2")]))
    got = await source.spend(SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team))
    keys = {line.key for line in got.lines}
    assert "unallocated" in keys and "" not in keys
    untagged = ROWS["Tags"].isna().sum()
    assert untagged > 0
    unallocated = sum(line.cost for line in got.lines if line.key == "unallocated")
    assert unallocated != 0


async def test_credits_are_negative_and_reduce_spend(files):
    source = FocusCostSource(str(files[("csv", "1.2")]))
    query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.charge_category)
    got = await source.spend(query)
    credits = [line for line in got.lines if line.key == "Credit"]
    assert credits and all(line.cost < 0 for line in credits)
    assert_matches(got, expected(query))


async def test_currencies_are_totalled_separately_never_summed(files):
    source = FocusCostSource(str(files[("parquet", "1.2")]))
    got = await source.spend(SpendQuery(**FEB_TO_MAR))
    assert set(got.totals) == {"USD", "EUR"}
    assert {(line.key, line.currency) for line in got.lines} == {("total", "USD"), ("total", "EUR")}
    assert {c for _, c, _ in got.daily} == {"USD", "EUR"}


async def test_effective_cost_does_not_count_purchases_twice_but_billed_cost_shows_them(files):
    source = FocusCostSource(str(files[("csv", "1.2")]))
    query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.charge_category)
    effective = {
        line.key: line.cost for line in (await source.spend(query)).lines if line.currency == "USD"
    }
    billed_query = query.model_copy(update={"measure": CostMeasure.billed})
    billed = await source.spend(billed_query)
    assert effective["Purchase"] == 0
    assert {line.key: line.cost for line in billed.lines if line.currency == "USD"}["Purchase"] > 0
    assert_matches(billed, expected(billed_query, measure="BilledCost"))


async def test_source_measure_applies_unless_the_query_sets_one(files):
    source = FocusCostSource(str(files[("csv", "1.2")]), measure=CostMeasure.billed)
    implicit = await source.spend(SpendQuery(**FEB_TO_MAR))
    assert implicit.query.measure is CostMeasure.billed
    assert_matches(implicit, expected(SpendQuery(**FEB_TO_MAR), measure="BilledCost"))
    explicit = SpendQuery(**FEB_TO_MAR, measure=CostMeasure.effective)
    assert_matches(await source.spend(explicit), expected(explicit))


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/Los_Angeles"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_month_boundaries_and_dst_days_follow_the_local_timezone(files, tz, fmt):
    source = FocusCostSource(str(files[(fmt, "1.2")]), timezone=tz)
    march = SpendQuery(start=date(2025, 3, 1), end=date(2025, 4, 1), group_by=SpendDimension.day)
    got = await source.spend(march)
    assert_matches(got, expected(march, tz=tz))
    utc = await FocusCostSource(str(files[(fmt, "1.2")])).spend(march)
    assert got.totals != utc.totals  # hours near midnight moved across the month boundary
    autumn = SpendQuery(start=date(2025, 10, 24), end=date(2025, 11, 4))
    assert_matches(await source.spend(autumn), expected(autumn, tz=tz))


@pytest.mark.parametrize("field", ["team", "model", "pipeline", "service"])
@pytest.mark.parametrize(
    "attack",
    ["x' OR 1=1 --", "' OR ''='", "x'); DROP TABLE focus_rows; --", '" OR "1"="1', "%", "*"],
)
async def test_sql_injection_in_filter_values_returns_nothing(files, field, attack):
    source = FocusCostSource(str(files[("parquet", "1.2")]), allocation=ALLOCATION)
    got = await source.spend(SpendQuery(**FEB_TO_MAR, **{field: attack}))
    assert got.rows_scanned == 0 and got.totals == {} and got.lines == ()
    still = await source.spend(SpendQuery(**FEB_TO_MAR))
    assert still.rows_scanned == expected(SpendQuery(**FEB_TO_MAR))["rows"]


async def test_hostile_allocation_keys_and_values_are_data_not_sql(files):
    hostile = {"team') OR 1=1 --": {"x' OR 1=1 --": "evil"}, "cost_center": {"' OR 1=1 --": "evil"}}
    source = FocusCostSource(str(files[("csv", "1.2")]), allocation=hostile)
    got = await source.spend(SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team))
    assert "evil" not in {line.key for line in got.lines}
    assert_matches(got, expected(SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team)))


def _write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


async def test_misspelled_mandatory_column_names_column_version_and_guess(tmp_path):
    path = _write(ROWS.rename(columns={"BilledCost": "BiledCost"}), tmp_path / "bad.csv")
    with pytest.raises(SourceDataError) as err:
        await FocusCostSource(str(path)).spend(SpendQuery(**FEB_TO_MAR))
    assert err.value.message == (
        "BilledCost missing (FOCUS 1.2 mandatory column); did you mean 'BiledCost'?"
    )


async def test_every_missing_column_is_named(tmp_path):
    path = _write(ROWS.drop(columns=["ChargeCategory", "ServiceName"]), tmp_path / "bad.csv")
    with pytest.raises(SourceDataError) as err:
        await FocusCostSource(str(path), version="1.3").spend(SpendQuery(**FEB_TO_MAR))
    message = err.value.message
    for column in ("ChargeCategory", "ServiceName", "ServiceProviderName"):
        assert f"{column} missing (FOCUS 1.3 mandatory column)" in message


async def test_files_of_the_other_version_suggest_setting_it(files):
    with pytest.raises(SourceDataError) as err:
        await FocusCostSource(str(files[("csv", "1.3")]), version="1.2").spend(
            SpendQuery(**FEB_TO_MAR)
        )
    assert "ProviderName missing (FOCUS 1.2 mandatory column)" in err.value.message
    assert err.value.fix and 'version "1.3"' in err.value.fix


async def test_no_matching_file_names_the_glob(tmp_path):
    pattern = str(tmp_path / "exports" / "*.parquet")
    with pytest.raises(SourceNotFound) as err:
        await FocusCostSource(pattern).spend(SpendQuery(**FEB_TO_MAR))
    assert pattern in str(err.value)
    probe = await FocusCostSource(pattern).probe()
    assert pattern in probe.detail and probe.fix


async def test_probe_reports_files_rows_and_date_range(files):
    probe = await FocusCostSource(str(files[("parquet", "1.2")])).probe()
    assert probe.reachable and probe.authenticated
    assert f"1 parquet file(s), {len(ROWS):,} rows" in probe.detail
    assert "2025-02-26 to 2025-11-03" in probe.detail


async def test_new_monthly_files_are_picked_up_without_a_restart(tmp_path):
    _write(ROWS.iloc[:1000], tmp_path / "focus-1.csv")
    source = FocusCostSource(str(tmp_path / "focus-*.csv"))
    first = await source.spend(SpendQuery(**FEB_TO_MAR))
    _write(ROWS.iloc[1000:], tmp_path / "focus-2.csv")
    second = await source.spend(SpendQuery(**FEB_TO_MAR))
    assert second.rows_scanned == expected(SpendQuery(**FEB_TO_MAR))["rows"] > first.rows_scanned


async def test_tags_stored_as_a_parquet_map_work_like_json(tmp_path, files):
    path = tmp_path / "map.parquet"
    con = duckdb.connect()
    con.read_parquet(str(files[("parquet", "1.2")])).project(
        "* REPLACE (CAST(Tags AS MAP(VARCHAR, VARCHAR)) AS Tags)"
    ).write_parquet(str(path))
    con.close()
    query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team)
    assert_matches(await FocusCostSource(str(path)).spend(query), expected(query))


async def test_a_query_over_its_time_budget_fails_as_unavailable(files):
    source = FocusCostSource(str(files[("csv", "1.2")]), timeout=1e-6)
    with pytest.raises(SourceUnavailable):
        await source.spend(SpendQuery(**FEB_TO_MAR))


async def test_an_empty_period_is_an_empty_answer(files):
    got = await FocusCostSource(str(files[("csv", "1.2")])).spend(
        SpendQuery(start=date(2025, 3, 1), end=date(2025, 3, 1))
    )
    assert got.lines == () and got.rows_scanned == 0


def test_unknown_version_or_timezone_is_a_configuration_error():
    with pytest.raises(ValueError, match="1.9"):
        FocusCostSource("x.parquet", version="1.9")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        FocusCostSource("x.parquet", timezone="Mars/Olympus")


# -- analysis helpers ---------------------------------------------------------------------------
def test_forecast_extends_the_month_to_date_run_rate_linearly():
    today = date(2025, 4, 10)
    daily = {date(2025, 4, d): Decimal(100) for d in range(1, 11)}
    daily[date(2025, 3, 31)] = Decimal(10_000)  # last month: ignored
    assert forecast_month_end(daily, today) == Decimal("3000.00")


def test_forecast_uses_days_with_data_so_export_lag_does_not_shrink_it():
    daily = [(date(2025, 4, d), Decimal(50)) for d in range(1, 9)]  # 2 days of lag
    assert forecast_month_end(daily, date(2025, 4, 10)) == Decimal("1500.00")
    assert forecast_month_end([], date(2025, 4, 10)) == Decimal(0)


def test_top_movers_rank_by_absolute_change_and_include_new_and_gone_keys():
    now = {"sagemaker": Decimal(900), "s3": Decimal(100), "new": Decimal(50)}
    before = {"sagemaker": Decimal(200), "s3": Decimal(130), "gone": Decimal(400)}
    movers = top_movers(now, before, n=3)
    assert [m.key for m in movers] == ["sagemaker", "gone", "new"]
    assert movers[0].delta == Decimal(700) and movers[1].change == -1.0
    assert movers[2].change is None


def test_previous_period_is_the_same_length_just_before():
    query = SpendQuery(start=date(2025, 3, 1), end=date(2025, 3, 31), team="x")
    prev = previous_period(query)
    assert (prev.start, prev.end, prev.team) == (date(2025, 1, 30), date(2025, 3, 1), "x")


def test_daily_series_picks_one_currency():
    summary = SpendSummary(
        query=SpendQuery(start=date(2025, 3, 1), end=date(2025, 3, 3)),
        totals={"USD": Decimal(30), "EUR": Decimal(5)},
        daily=(
            (date(2025, 3, 1), "USD", Decimal(10)),
            (date(2025, 3, 1), "EUR", Decimal(5)),
            (date(2025, 3, 2), "USD", Decimal(20)),
        ),
    )
    assert daily_series(summary) == {date(2025, 3, 1): Decimal(10), date(2025, 3, 2): Decimal(20)}
    assert daily_series(summary, "EUR") == {date(2025, 3, 1): Decimal(5)}


async def test_a_malformed_tags_value_is_unallocated_and_reported_by_probe(tmp_path):
    frame = ROWS.copy()
    frame.loc[0, "Tags"] = "team=ml-platform;env=prod"  # not JSON
    path = _write(frame, tmp_path / "focus.csv")
    source = FocusCostSource(str(path))
    query = SpendQuery(**FEB_TO_MAR, group_by=SpendDimension.team)
    got = await source.spend(query)
    assert got.rows_scanned == expected(query)["rows"]  # the answer still covers every row
    probe = await source.probe()
    assert "1 rows have Tags that are not a JSON object" in probe.detail


async def test_concurrent_answers_share_one_source_safely(files):
    source = FocusCostSource(str(files[("parquet", "1.2")]))
    queries = [SpendQuery(**FEB_TO_MAR, group_by=dim) for dim in SpendDimension] * 3
    answers = await asyncio.gather(*(source.spend(q) for q in queries))
    for query, answer in zip(queries, answers, strict=True):
        assert_matches(answer, expected(query))


@pytest.mark.parametrize("cast", ["TIMESTAMP", "VARCHAR"])
async def test_timestamps_without_zone_or_as_text_are_read_as_utc(tmp_path, files, cast):
    path = tmp_path / f"{cast}.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    text = "strftime(ChargePeriodStart, '%Y-%m-%dT%H:%M:%SZ')"
    expr = text if cast == "VARCHAR" else "CAST(ChargePeriodStart AS TIMESTAMP)"
    con.read_parquet(str(files[("parquet", "1.2")])).project(
        f"* REPLACE ({expr} AS ChargePeriodStart)"
    ).write_parquet(str(path))
    con.close()
    query = SpendQuery(start=date(2025, 3, 1), end=date(2025, 4, 1), group_by=SpendDimension.day)
    source = FocusCostSource(str(path), timezone="Europe/Berlin")
    assert_matches(await source.spend(query), expected(query, tz="Europe/Berlin"))
