"""The demo's FOCUS files follow the FOCUS 1.2 specification's mandatory columns.

Column list, data types and allowed values come from integrations/focus/schema.py, which is
transcribed from the spec repository (tag v1.2, specification/columns/*.md). The FinOps
focus-validator needs Python 3.12, so these checks restate its column rules for 1.2.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from integrations.demo import DemoCompany
from integrations.focus.schema import (
    CHARGE_CATEGORIES,
    MANDATORY_1_2,
    MANDATORY_1_3,
    SERVICE_CATEGORIES,
    TAGS,
    ColumnSpec,
    DataType,
)

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")  # attributes/datetime_format.md
NUMERIC = re.compile(r"^-?\d+(\.\d+)?(E-?\d+)?$")  # attributes/numeric_format.md
CURRENCY = re.compile(r"^[A-Z]{3}$")  # attributes/currency_format.md (ISO 4217 national)
UNIT = re.compile(  # attributes/unit_format.md: "GB", "GB-Hours", "GB/Hour", "1000 Tokens"
    r"^(\d+ )?[A-Za-z]+(-[A-Z][a-z]+|/[A-Z][a-z]+|/\d+ [A-Z][a-z]+)?$"
)
PARQUET_TYPES = {
    DataType.decimal: ("DECIMAL", "DOUBLE", "FLOAT"),
    DataType.string: ("VARCHAR",),
    DataType.datetime: ("TIMESTAMP WITH TIME ZONE",),
    DataType.json: ("JSON", "VARCHAR"),
}
TODAY = date(2025, 3, 15)


@pytest.fixture(scope="module")
def demo() -> DemoCompany:
    return DemoCompany(seed=42, today=TODAY)


@pytest.fixture(scope="module")
def csv_rows(demo: DemoCompany, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    paths = demo.write_focus(tmp_path_factory.mktemp("csv"), fmt="csv")
    assert len(paths) >= 3  # 90 days span at least three billing months
    rows: list[dict[str, str]] = []
    for path in paths:
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


@pytest.fixture(scope="module")
def parquet(demo: DemoCompany, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("parquet")
    demo.write_focus(directory, fmt="parquet")
    return directory


def test_schema_lists_the_21_mandatory_columns_of_focus_1_2_with_their_spec_files():
    names = [c.name for c in MANDATORY_1_2]
    assert len(names) == len(set(names)) == 21
    assert all(c.spec_file.startswith("specification/columns/") for c in MANDATORY_1_2)
    assert "ProviderName" not in {c.name for c in MANDATORY_1_3}
    assert {"ServiceProviderName", "HostProviderName"} <= {c.name for c in MANDATORY_1_3}


@pytest.mark.parametrize("spec", MANDATORY_1_2, ids=lambda c: c.name)
def test_parquet_has_every_mandatory_column_with_its_spec_type(parquet: Path, spec: ColumnSpec):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.read_parquet(str(parquet / "*.parquet"), union_by_name=True)
    rel.create_view("demo_rows")
    types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    assert spec.name in types, f"{spec.name} missing ({spec.spec_file})"
    assert types[spec.name].startswith(PARQUET_TYPES[spec.data_type])
    nulls, allowed_misses = con.execute(
        f'SELECT count(*) FILTER (WHERE "{spec.name}" IS NULL), '
        f'count(*) FILTER (WHERE "{spec.name}" IS NOT NULL '
        f'AND NOT list_contains($allowed, CAST("{spec.name}" AS VARCHAR))) FROM demo_rows',
        {"allowed": list(spec.allowed_values) or [None]},
    ).fetchone() or (0, 0)
    if not spec.nullable:
        assert nulls == 0, f"{spec.name} must not be null"
    if spec.allowed_values:
        assert allowed_misses == 0, f"{spec.name} has values outside {spec.allowed_values}"
    con.close()


@pytest.mark.parametrize("spec", MANDATORY_1_2, ids=lambda c: c.name)
def test_csv_values_follow_the_spec_formats(csv_rows: list[dict[str, str]], spec: ColumnSpec):
    assert spec.name in csv_rows[0], f"{spec.name} missing from the CSV header"
    values = [row[spec.name] for row in csv_rows]
    present = [v for v in values if v != ""]
    if not spec.nullable:
        assert len(present) == len(values), f"{spec.name} must not be null"
    if spec.allowed_values:
        assert set(present) <= set(spec.allowed_values)
    pattern = {DataType.datetime: DATETIME, DataType.decimal: NUMERIC}.get(spec.data_type)
    if spec.value_format == "Currency":
        pattern = CURRENCY
    if spec.value_format == "Unit":
        pattern = UNIT
    if pattern is not None:
        bad = [v for v in present if not pattern.match(v)]
        assert not bad, f"{spec.name}: {bad[:3]} do not follow the {spec.value_format} format"


def test_tags_are_key_value_json_objects_with_scalar_values(csv_rows: list[dict[str, str]]):
    assert TAGS.name in csv_rows[0]
    tagged = [json.loads(row["Tags"]) for row in csv_rows if row["Tags"]]
    assert tagged and any(row["Tags"] == "" for row in csv_rows)  # some rows are untagged
    for tags in tagged:
        assert isinstance(tags, dict)
        assert all(isinstance(v, str | int | float | bool) or v is None for v in tags.values())


def test_the_demo_uses_several_charge_categories_and_valid_service_categories(csv_rows):
    categories = {row["ChargeCategory"] for row in csv_rows}
    assert {"Usage", "Purchase", "Tax", "Credit"} <= categories <= set(CHARGE_CATEGORIES)
    assert {row["ServiceCategory"] for row in csv_rows} <= set(SERVICE_CATEGORIES)


def test_cross_column_rules_of_the_spec_hold(csv_rows: list[dict[str, str]]):
    for row in csv_rows:
        category = row["ChargeCategory"]
        # pricingquantity.md / pricingunit.md
        if category == "Tax":
            assert row["PricingQuantity"] == "" and row["PricingUnit"] == ""
        if category in ("Usage", "Purchase") and row["ChargeClass"] != "Correction":
            assert row["PricingQuantity"] != ""
        assert (row["PricingQuantity"] == "") == (row["PricingUnit"] == "")
        # effectivecost.md: purchases covering future charges have EffectiveCost 0, and
        # charges unrelated to others (credits) have EffectiveCost equal to BilledCost.
        if category == "Purchase":
            assert float(row["EffectiveCost"]) == 0
        if category == "Credit":
            assert float(row["EffectiveCost"]) == float(row["BilledCost"]) < 0
        # chargeperiodstart.md / billingperiodstart.md: bounds are ordered
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]


def test_focus_1_3_files_carry_service_and_host_provider(demo: DemoCompany, tmp_path: Path):
    paths = demo.write_focus(tmp_path, fmt="csv", version="1.3")
    with paths[0].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for spec in MANDATORY_1_3:
        assert spec.name in rows[0], spec.name
        if not spec.nullable:
            assert all(row[spec.name] for row in rows), spec.name
    assert "ProviderName" not in rows[0] and "PublisherName" not in rows[0]
    marketplace = [r for r in rows if r["ServiceName"] == "Snowflake Data Cloud"]
    assert marketplace and {
        (r["ServiceProviderName"], r["HostProviderName"], r["InvoiceIssuerName"])
        for r in marketplace
    } == {("Snowflake", "AWS", "AWS")}
