"""Write cost rows as FOCUS files (one per billing month), Parquet or CSV, shaped as 1.2 or 1.3.

Input is column-oriented (FOCUS 1.2 column name -> list of values); DuckDB does the typing and
the file writing, so tens of thousands of rows take a few tens of milliseconds. Column names are
checked against a fixed list before they are used as identifiers. Files are written through
DuckDB's relation API: no path or value is ever spliced into SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

# FOCUS 1.2 columns this writer knows, with the DuckDB type each is written as.
COLUMN_TYPES: Mapping[str, str] = {
    "BilledCost": "DECIMAL(18,6)",
    "BillingAccountId": "VARCHAR",
    "BillingAccountName": "VARCHAR",
    "BillingCurrency": "VARCHAR",
    "BillingPeriodEnd": "TIMESTAMPTZ",
    "BillingPeriodStart": "TIMESTAMPTZ",
    "ChargeCategory": "VARCHAR",
    "ChargeClass": "VARCHAR",
    "ChargeDescription": "VARCHAR",
    "ChargeFrequency": "VARCHAR",
    "ChargePeriodEnd": "TIMESTAMPTZ",
    "ChargePeriodStart": "TIMESTAMPTZ",
    "CommitmentDiscountCategory": "VARCHAR",
    "CommitmentDiscountId": "VARCHAR",
    "CommitmentDiscountStatus": "VARCHAR",
    "CommitmentDiscountType": "VARCHAR",
    "ConsumedQuantity": "DECIMAL(18,6)",
    "ConsumedUnit": "VARCHAR",
    "ContractedCost": "DECIMAL(18,6)",
    "EffectiveCost": "DECIMAL(18,6)",
    "InvoiceIssuerName": "VARCHAR",
    "ListCost": "DECIMAL(18,6)",
    "PricingCategory": "VARCHAR",
    "PricingQuantity": "DECIMAL(18,6)",
    "PricingUnit": "VARCHAR",
    "ProviderName": "VARCHAR",
    "PublisherName": "VARCHAR",
    "RegionId": "VARCHAR",
    "RegionName": "VARCHAR",
    "ResourceId": "VARCHAR",
    "ResourceName": "VARCHAR",
    "ResourceType": "VARCHAR",
    "ServiceCategory": "VARCHAR",
    "ServiceName": "VARCHAR",
    "SkuId": "VARCHAR",
    "SubAccountId": "VARCHAR",
    "SubAccountName": "VARCHAR",
    "Tags": "JSON",
    "x_UsageType": "VARCHAR",
}
_FORMATS = ("parquet", "csv")


def write_focus(
    columns: Mapping[str, Sequence[Any]],
    directory: Path,
    *,
    fmt: str = "parquet",
    version: str = "1.2",
    prefix: str = "focus",
) -> list[Path]:
    """Write one file per BillingPeriodStart month; returns the paths, oldest month first.

    Date/Time values are aware datetimes (or epoch seconds); decimals are floats or Decimals.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, not {fmt!r}")
    if version not in ("1.2", "1.3"):
        raise ValueError(f"can write FOCUS 1.2 or 1.3, not {version!r}")
    unknown = sorted(set(columns) - set(COLUMN_TYPES))
    if unknown:
        raise ValueError(f"not FOCUS columns this writer knows: {unknown}")
    directory.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(":memory:")
    try:
        conn.execute("SET TimeZone = 'UTC'")
        table = _load(conn, columns)
        months = sorted(
            r[0]
            for r in table.select("strftime(BillingPeriodStart, '%Y-%m') AS month")
            .distinct()
            .fetchall()
        )
        paths = []
        for month in months:
            path = directory / f"{prefix}-{month}.{fmt}"
            rows = table.filter(
                duckdb.FunctionExpression(
                    "strftime",
                    duckdb.ColumnExpression("BillingPeriodStart"),
                    duckdb.ConstantExpression("%Y-%m"),
                )
                == duckdb.ConstantExpression(month)
            )
            shaped = rows.select(*_projection(list(columns), version=version, csv=fmt == "csv"))
            if fmt == "csv":
                shaped.write_csv(str(path), header=True)
            else:
                shaped.write_parquet(str(path))
            paths.append(path)
        return paths
    finally:
        conn.close()


def _load(conn: duckdb.DuckDBPyConnection, columns: Mapping[str, Sequence[Any]]) -> Any:
    params: dict[str, list[Any]] = {}
    selects = []
    for i, (name, values) in enumerate(columns.items()):
        kind = COLUMN_TYPES[name]
        key = f"c{i}"
        if kind == "TIMESTAMPTZ":
            params[key] = [_epoch(v) for v in values]
            selects.append(f'to_timestamp(unnest(${key})) AS "{name}"')
        elif kind.startswith("DECIMAL"):
            params[key] = [None if v is None else float(v) for v in values]
            selects.append(f'CAST(unnest(${key}) AS {kind}) AS "{name}"')
        else:
            params[key] = [None if v is None else str(v) for v in values]
            selects.append(f'CAST(unnest(${key}) AS {kind}) AS "{name}"')
    # Materialised once: a lazy relation would re-bind every list for each month written.
    conn.execute(f"CREATE TABLE focus_rows AS SELECT {', '.join(selects)}", params)
    return conn.table("focus_rows")


def _projection(names: list[str], *, version: str, csv: bool) -> list[Any]:
    def col(name: str) -> Any:
        expr = duckdb.ColumnExpression(name)
        if csv and COLUMN_TYPES[name] == "TIMESTAMPTZ":
            # FOCUS Date/Time format: 'YYYY-MM-DDTHH:mm:ssZ'
            expr = duckdb.FunctionExpression(
                "strftime", expr, duckdb.ConstantExpression("%Y-%m-%dT%H:%M:%SZ")
            )
        return expr.alias(name)

    out = []
    for name in names:
        if version == "1.3" and name == "ProviderName":
            # 1.3: the service provider is who produces the service (1.2's publisher); the host
            # provider is whose infrastructure it runs on, null for purchases and taxes.
            out.append(duckdb.ColumnExpression("PublisherName").alias("ServiceProviderName"))
            out.append(
                duckdb.SQLExpression(
                    "CASE WHEN ChargeCategory IN ('Tax', 'Purchase') THEN NULL ELSE ProviderName END"
                ).alias("HostProviderName")
            )
        elif version == "1.3" and name == "PublisherName":
            continue
        else:
            out.append(col(name))
    return out


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)
