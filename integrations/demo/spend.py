"""90 days of FOCUS 1.2 cost rows for the demo company, ending today.

Each cost stream (a service used by a team for a pipeline or model) gets one row per resource
per day (ChargePeriod = that UTC day) with noise, gentle growth and weekend dips; weekly
training jobs cost on their run day only. Scripted: ml-platform's GPU training for `recs`
jumped GPU_JUMP_DAYS ago (the top mover that puts the team over budget), and churn's serving
surged over the last SURGE_DAYS days (the cascade of nightly_orders failing). Also in the data:
rows tagged only with a cost centre, a legacy `team: ml` tag, untagged rows (unallocated),
three credits, a recurring savings-plan Purchase with its amortised usage, and a Tax row per
completed month. Amounts are USD with 6 decimals.
"""

from __future__ import annotations

import calendar
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from integrations.demo.catalog import GPU_JUMP_DAYS, PIPELINES, SURGE_DAYS
from integrations.demo.pipelines import seeded
from integrations.demo.streams import CATEGORY, Stream, streams

WINDOW_DAYS = 90
SAVINGS_PLAN_MONTHLY = 2400.0
TAX_RATE = 0.04
_AWS = ("111122223333", "Acme Data (AWS payer)")
_GCP = ("01A2B3-C4D5E6-F7A8B9", "Acme Data (Google Cloud)")
_ACCOUNTS = {
    "data-eng": ("210987654321", "acme-data-prod"),
    "ml-platform": ("310987654321", "acme-ml-prod"),
    "analytics": ("410987654321", "acme-analytics"),
    None: ("510987654321", "acme-sandbox"),
}
_WEEKDAY = {p.name: p.weekday for p in PIPELINES if p.cadence == "weekly"}
SP_ARN = "arn:aws:savingsplans::111122223333:savingsplan/3f2a9c1e-demo-4d7b-9e55-compute"


class Columns:
    """Column-oriented FOCUS rows (FOCUS 1.2 names), appended one row at a time."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = defaultdict(list)
        self.count = 0

    def add(self, **row: Any) -> None:
        for key in self.data.keys() | row.keys():
            if key not in self.data:
                self.data[key] = [None] * self.count
            self.data[key].append(row.get(key))
        self.count += 1


def _month(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    days = calendar.monthrange(day.year, day.month)[1]
    return start, start + timedelta(days=days)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def generate(*, seed: int, today: date) -> dict[str, list[Any]]:
    """All rows of the 90 days ending `today`, as FOCUS 1.2 columns."""
    first = today - timedelta(days=WINDOW_DAYS - 1)
    jump_day = today - timedelta(days=GPU_JUMP_DAYS - 1)
    surge_day = today - timedelta(days=SURGE_DAYS - 1)
    out = Columns()
    taxable: dict[datetime, list[float]] = defaultdict(lambda: [0.0, 0.0])  # billed, effective
    for i, stream in enumerate(streams()):
        weekly = _WEEKDAY.get(stream.tags.get("pipeline", ""))
        for n in range(WINDOW_DAYS):
            day = first + timedelta(days=n)
            if weekly is not None and day.weekday() != weekly:
                continue  # weekly training costs on its run day
            rng = seeded(seed, "spend", i, day.isoformat())
            amount = stream.daily * (7 if weekly is not None else 1)
            amount *= 1 + 0.0005 * (day - today).days  # a little growth towards today
            amount *= stream.weekend if day.weekday() >= 5 else 1.0
            if stream.jump and day >= jump_day:
                amount += stream.jump
            if stream.surge and day >= surge_day:
                amount += stream.surge
            for r in range(stream.resources):
                usd = round(amount / stream.resources * rng.lognormvariate(0, 0.07), 6)
                _usage(out, stream, day, r, usd)
                if stream.provider == "AWS":
                    billed = 0.0 if stream.covered else usd
                    taxable[_month(day)[0]][0] += billed
                    taxable[_month(day)[0]][1] += usd
    _commitments(out, first, today, taxable)
    _credits(out, first)
    _taxes(out, first, today, taxable)
    return dict(out.data)


def _usage(out: Columns, stream: Stream, day: date, r: int, usd: float) -> None:
    period_start, period_end = _month(day)
    account = _GCP if stream.provider == "Google Cloud" else _AWS
    sub = _ACCOUNTS.get(stream.team if stream.team in _ACCOUNTS else None, _ACCOUNTS[None])
    if stream.provider == "Google Cloud":
        sub = ("acme-analytics-bq", "acme-analytics-bq")
    discount = 0.07 if stream.provider == "AWS" else 0.0  # an enterprise discount on AWS
    contracted = usd
    list_cost = round(usd / (1 - discount) * (1.6 if stream.pricing == "Dynamic" else 1), 6)
    quantity = round(list_cost / _unit_price(stream), 6)
    slug = stream.tags.get("pipeline") or stream.tags.get("model") or stream.sku
    resource = f"{stream.service.split()[-1].lower()}-{slug}-{r + 1}".replace("_", "-")
    out.add(
        BilledCost=0.0 if stream.covered else usd,
        EffectiveCost=usd,
        ListCost=list_cost,
        ContractedCost=contracted,
        BillingCurrency="USD",
        BillingAccountId=account[0],
        BillingAccountName=account[1],
        BillingPeriodStart=period_start,
        BillingPeriodEnd=period_end,
        ChargePeriodStart=_midnight(day),
        ChargePeriodEnd=_midnight(day + timedelta(days=1)),
        ChargeCategory="Usage",
        ChargeClass=None,
        ChargeFrequency="Usage-Based",
        ChargeDescription=f"{stream.sku} {stream.service} usage",
        PricingCategory=stream.pricing,
        PricingQuantity=quantity,
        PricingUnit=stream.unit,
        ConsumedQuantity=quantity,
        ConsumedUnit=stream.unit,
        ProviderName=stream.provider,
        PublisherName=stream.publisher,
        InvoiceIssuerName=stream.provider,
        ServiceName=stream.service,
        ServiceCategory=CATEGORY[stream.service],
        RegionId=stream.region,
        RegionName="US East (N. Virginia)" if stream.region == "us-east-1" else "United States",
        ResourceId=resource,
        ResourceName=resource,
        ResourceType=stream.sku,
        SkuId=stream.sku,
        SubAccountId=sub[0],
        SubAccountName=sub[1],
        CommitmentDiscountId=SP_ARN if stream.covered else None,
        CommitmentDiscountType="Compute Savings Plan" if stream.covered else None,
        CommitmentDiscountCategory="Spend" if stream.covered else None,
        CommitmentDiscountStatus="Used" if stream.covered else None,
        Tags=json.dumps(stream.tags, sort_keys=True) if stream.tags else None,
        x_UsageType=f"{stream.region.upper()}-{stream.sku}",
    )


def _unit_price(stream: Stream) -> float:
    return {
        "Hours": 3.2,
        "DPU-Hours": 0.44,
        "GB-Months": 0.023,
        "TB": 6.25,
        "Credits": 3.0,
        "Users": 24.0,
        "GB": 0.09,
        "GB-Seconds": 0.0000166667,
    }.get(stream.unit, 1.0)


def _one_off(
    out: Columns,
    *,
    day: date,
    category: str,
    service: str,
    billed: float,
    effective: float,
    description: str,
    provider: str = "AWS",
    tags: dict[str, str] | None = None,
    end: datetime | None = None,
    frequency: str = "One-Time",
    quantity: float | None = None,
    unit: str | None = None,
) -> None:
    period_start, period_end = _month(day)
    account = _GCP if provider == "Google Cloud" else _AWS
    out.add(
        BilledCost=billed,
        EffectiveCost=effective,
        ListCost=billed,
        ContractedCost=billed,
        BillingCurrency="USD",
        BillingAccountId=account[0],
        BillingAccountName=account[1],
        BillingPeriodStart=period_start,
        BillingPeriodEnd=period_end,
        ChargePeriodStart=_midnight(day),
        ChargePeriodEnd=end or _midnight(day + timedelta(days=1)),
        ChargeCategory=category,
        ChargeClass=None,
        ChargeFrequency=frequency,
        ChargeDescription=description,
        PricingQuantity=quantity,
        PricingUnit=unit,
        ProviderName=provider,
        PublisherName=provider,
        InvoiceIssuerName=provider,
        ServiceName=service,
        ServiceCategory=CATEGORY.get(service, "Other"),
        SubAccountId=_ACCOUNTS[None][0] if provider == "AWS" else "acme-analytics-bq",
        SubAccountName=_ACCOUNTS[None][1] if provider == "AWS" else "acme-analytics-bq",
        Tags=json.dumps(tags, sort_keys=True) if tags else None,
        CommitmentDiscountId=SP_ARN if category == "Purchase" else None,
        CommitmentDiscountType="Compute Savings Plan" if category == "Purchase" else None,
        CommitmentDiscountCategory="Spend" if category == "Purchase" else None,
    )


def _commitments(
    out: Columns, first: date, today: date, taxable: dict[datetime, list[float]]
) -> None:
    """A monthly savings-plan fee, billed on the 1st; EffectiveCost 0 (it is amortised)."""
    day = first.replace(day=1)
    while day <= today:
        if day >= first:
            _one_off(
                out,
                day=day,
                category="Purchase",
                service="Savings Plans for AWS Compute usage",
                billed=SAVINGS_PLAN_MONTHLY,
                effective=0.0,
                frequency="Recurring",
                description="Compute Savings Plan, 1 year no upfront, monthly fee",
                end=_month(day)[1],
                quantity=24.0 * calendar.monthrange(day.year, day.month)[1],
                unit="Hours",
            )
            taxable[_month(day)[0]][0] += SAVINGS_PLAN_MONTHLY
        day = _month(day)[1].date()


def _credits(out: Columns, first: date) -> None:
    _one_off(
        out,
        day=first + timedelta(days=20),
        category="Credit",
        service="Amazon EC2",
        billed=-500.0,
        effective=-500.0,
        description="AWS promotional credit",
    )
    _one_off(
        out,
        day=first + timedelta(days=45),
        category="Credit",
        service="Amazon Redshift",
        billed=-180.0,
        effective=-180.0,
        tags={"team": "data-eng"},
        description="Service credit: Amazon Redshift SLA, cluster dw-prod",
    )
    _one_off(
        out,
        day=first + timedelta(days=70),
        category="Credit",
        service="Google BigQuery",
        billed=-150.0,
        effective=-150.0,
        provider="Google Cloud",
        tags={"team": "analytics"},
        description="Google Cloud promotional credit (BigQuery)",
    )


def _taxes(out: Columns, first: date, today: date, taxable: dict[datetime, list[float]]) -> None:
    """US sales tax on AWS, one row per month that has closed, on the usage in the window."""
    for month_start, (billed, effective) in sorted(taxable.items()):
        month_end = _month(month_start.date())[1]
        if month_end.date() > today:
            continue
        start = max(month_start.date(), first)
        _one_off(
            out,
            day=start,
            category="Tax",
            service="Tax",
            end=month_end,
            billed=round(billed * TAX_RATE, 6),
            effective=round(effective * TAX_RATE, 6),
            description=f"US sales tax on AWS charges for {month_start:%Y-%m}",
        )
