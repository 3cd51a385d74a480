"""Small FOCUS exports a test writes for itself: a few charges, each one row, written as the
production writer writes them (one file per billing month, Parquet or CSV, FOCUS 1.2 or 1.3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from integrations.focus.writer import write_focus


@dataclass(frozen=True)
class Charge:
    """One FOCUS row: `at` is ChargePeriodStart (UTC); the charge lasts `hours`."""

    at: datetime
    cost: Decimal | float
    service: str = "AmazonEC2"
    provider: str = "AWS"
    currency: str = "USD"
    category: str = "Usage"
    tags: dict[str, str] = field(default_factory=dict)
    billed: Decimal | float | None = None  # BilledCost; the same as `cost` unless given
    account: str = "111111111111"
    sub_account: str | None = None
    hours: int = 1


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def daily(first: datetime, last: datetime, cost: float, **kwargs: Any) -> list[Charge]:
    """One charge a day from `first` to `last` (inclusive), at the same hour each day."""
    days = (last - first).days
    return [Charge(first + timedelta(days=n), cost, hours=24, **kwargs) for n in range(days + 1)]


def write_export(
    charges: list[Charge],
    directory: Path,
    *,
    fmt: str = "parquet",
    version: str = "1.2",
    without: tuple[str, ...] = (),
) -> Path:
    """Write `charges` as FOCUS files in `directory` (made if missing), leaving out the columns
    named in `without`; returns the directory."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "BilledCost",
            "EffectiveCost",
            "BillingCurrency",
            "BillingAccountId",
            "BillingPeriodStart",
            "BillingPeriodEnd",
            "ChargePeriodStart",
            "ChargePeriodEnd",
            "ChargeCategory",
            "ServiceName",
            "ProviderName",
            "PublisherName",
            "SubAccountId",
            "Tags",
        )
    }
    for charge in charges:
        month = charge.at.replace(day=1, hour=0)
        after = (month + timedelta(days=32)).replace(day=1)
        billed = charge.cost if charge.billed is None else charge.billed
        row = {
            "BilledCost": billed,
            "EffectiveCost": charge.cost,
            "BillingCurrency": charge.currency,
            "BillingAccountId": charge.account,
            "BillingPeriodStart": month,
            "BillingPeriodEnd": after,
            "ChargePeriodStart": charge.at,
            "ChargePeriodEnd": charge.at + timedelta(hours=charge.hours),
            "ChargeCategory": charge.category,
            "ServiceName": charge.service,
            "ProviderName": charge.provider,
            "PublisherName": charge.provider,
            "SubAccountId": charge.sub_account,
            "Tags": json.dumps(charge.tags) if charge.tags else None,
        }
        for name, value in row.items():
            columns[name].append(value)
    kept = {name: values for name, values in columns.items() if name not in without}
    write_focus(kept, directory, fmt=fmt, version=version)
    return directory
