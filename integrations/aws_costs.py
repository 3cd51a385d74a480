"""Spend from AWS Cost Explorer (GetCostAndUsage) as a CostSource, in FOCUS terms.

Measure mapping (FOCUS 1.x column -> Cost Explorer metric):

- EffectiveCost -> ``AmortizedCost``: upfront and recurring commitment fees (Savings Plans,
  Reserved Instances) spread over the usage they cover, which is what FOCUS calls the
  effective cost of a resource.
- BilledCost -> ``UnblendedCost``: charges as they appear on the invoice of the account, with
  commitment purchases on the day they were bought.

Cost Explorer has no ``ChargeCategory`` dimension; grouping by charge_category uses
``RECORD_TYPE`` (Usage, Tax, Credit, Refund, ...), the closest AWS equivalent.

Every GetCostAndUsage request is billed by AWS (USD 0.01 each), so wrap this source in the
TTL cache (integrations.cache.cached_source) rather than calling it per Slack message.
boto3 is synchronous, so calls run in a worker thread; botocore's own connect/read timeouts
and standard retry mode bound each request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from integrations.errors import (
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceNotFound,
    SourceUnavailable,
)
from integrations.http import probe_call
from integrations.models import (
    TAX_LINE,
    CostCoverage,
    CostMeasure,
    ProbeResult,
    SpendDimension,
    SpendLine,
    SpendQuery,
    SpendSummary,
)

log = structlog.get_logger(__name__)

SOURCE = "aws_cost_explorer"
CE_TAX_SERVICE = "Tax"  # the SERVICE Cost Explorer files tax under
UNALLOCATED = "unallocated"
METRIC_FOR_MEASURE: Mapping[CostMeasure, str] = {
    CostMeasure.effective: "AmortizedCost",
    CostMeasure.billed: "UnblendedCost",
}
AUTH_FIX = "set AWS_PROFILE or AWS credentials; the role needs ce:GetCostAndUsage"
MAX_PAGES = 200  # a guard against a token that never ends; a year of daily groups is far less

_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "UnauthorizedOperation",
        "AuthFailure",
    }
)
_BUSY_CODES = frozenset(
    {
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalErrorException",
        "RequestLimitExceeded",
    }
)
_NOT_FOUND_CODES = frozenset({"NotFoundException", "ResourceNotFoundException"})


def aws_error(exc: Exception, *, source: str, auth_fix: str) -> SourceError:
    """The SourceError an AWS failure means. Only error codes are kept: AWS messages can name
    account IDs and ARNs, and credential errors must never echo a key."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _AUTH_CODES or status in (401, 403):
            return SourceAuthError(source, f"AWS refused the request ({code})", auth_fix)
        if code in _BUSY_CODES or status >= 500:
            return SourceUnavailable(
                source,
                f"AWS is throttling or failing ({code})",
                "wait a minute; if it persists, check the AWS Health Dashboard",
            )
        if code in _NOT_FOUND_CODES:
            return SourceNotFound(source, f"AWS has no such resource ({code})")
        return SourceDataError(source, f"AWS rejected the request ({code})")
    if isinstance(exc, BotoCoreError):
        name = type(exc).__name__
        if "Credential" in name or "Token" in name or "SSO" in name or "Profile" in name:
            return SourceAuthError(source, f"no usable AWS credentials ({name})", auth_fix)
        return SourceUnavailable(
            source,
            f"could not reach AWS ({name})",
            "check network access from the bot to the AWS API endpoints",
        )
    return SourceDataError(source, f"unexpected error talking to AWS ({type(exc).__name__})")


def boto_config(*, region: str, timeout: float) -> Config:
    return Config(
        region_name=region,
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 3},
    )


def cost_and_usage_request(query: SpendQuery, *, tags: Mapping[str, str]) -> dict[str, Any]:
    """GetCostAndUsage parameters for a query; `tags` maps team/model/pipeline to tag keys."""
    request: dict[str, Any] = {
        "TimePeriod": {"Start": query.start.isoformat(), "End": query.end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [METRIC_FOR_MEASURE[query.measure]],
    }
    filters: list[dict[str, Any]] = []
    for field in ("team", "model", "pipeline"):
        value = getattr(query, field)
        if value is None:
            continue
        if value == UNALLOCATED:  # cost carrying no such tag at all
            filters.append({"Tags": {"Key": tags[field], "MatchOptions": ["ABSENT"]}})
        else:
            filters.append({"Tags": {"Key": tags[field], "Values": [value]}})
    if query.service is not None:
        filters.append({"Dimensions": {"Key": "SERVICE", "Values": [query.service]}})
    if len(filters) == 1:
        request["Filter"] = filters[0]
    elif filters:  # AWS rejects an And with fewer than two operands
        request["Filter"] = {"And": filters}
    group = query.group_by
    if group is SpendDimension.service:
        request["GroupBy"] = [{"Type": "DIMENSION", "Key": "SERVICE"}]
    elif group is SpendDimension.charge_category:
        request["GroupBy"] = [{"Type": "DIMENSION", "Key": "RECORD_TYPE"}]
    elif group is SpendDimension.sub_account:
        request["GroupBy"] = [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]
    elif group is SpendDimension.account:
        # Cost Explorer answers for the one payer account it is called with.
        raise SourceDataError(
            SOURCE,
            "Cost Explorer reports one billing account: it cannot split spend by account",
            "split by sub_account (linked accounts) instead",
        )
    elif group in (SpendDimension.team, SpendDimension.model, SpendDimension.pipeline):
        request["GroupBy"] = [{"Type": "TAG", "Key": tags[str(group)]}]
    return request


def tag_value(group_key: str, tag_key: str) -> str:
    """'team$ml-platform' -> 'ml-platform'; 'team$' (untagged cost) -> 'unallocated'."""
    prefix = f"{tag_key}$"
    value = (
        group_key[len(prefix) :] if group_key.startswith(prefix) else group_key.partition("$")[2]
    )
    return value or UNALLOCATED


def summary_from_pages(
    query: SpendQuery, pages: Iterable[Mapping[str, Any]], *, tags: Mapping[str, str]
) -> SpendSummary:
    """Fold GetCostAndUsage responses (all pages) into a SpendSummary."""
    metric = METRIC_FOR_MEASURE[query.measure]
    group = query.group_by
    tag_key = (
        tags.get(str(group))
        if group in (SpendDimension.team, SpendDimension.model, SpendDimension.pipeline)
        else None
    )
    by_key: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    daily: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    rows = 0
    for page in pages:
        for result in page.get("ResultsByTime", []):
            day = date.fromisoformat(result["TimePeriod"]["Start"])
            amounts: list[tuple[str, Decimal, str]] = []
            groups = result.get("Groups") or []
            for item in groups:
                keys = item.get("Keys") or [""]
                key = tag_value(keys[0], tag_key) if tag_key else keys[0]
                if group is SpendDimension.service and key == CE_TAX_SERVICE:
                    key = TAX_LINE
                amount, unit = _metric(item.get("Metrics", {}), metric)
                if amount is not None:
                    amounts.append((key, amount, unit))
            if not groups:  # ungrouped: the day's total; grouped answers leave Total empty
                amount, unit = _metric(result.get("Total", {}), metric)
                if amount is not None:
                    amounts.append((_ungrouped_key(group, day), amount, unit))
            for key, amount, unit in amounts:
                rows += 1
                by_key[(key, unit)] += amount
                daily[(day, unit)] += amount
                totals[unit] += amount
    keep_zero = group is None or group is SpendDimension.day or group is SpendDimension.provider
    lines = sorted(
        (
            SpendLine(key=key, cost=cost, currency=unit)
            for (key, unit), cost in by_key.items()
            if keep_zero or cost != 0  # zero-cost services and tags are noise in a top list
        ),
        key=lambda line: (line.currency, -line.cost, line.key),
    )
    return SpendSummary(
        query=query,
        lines=tuple(lines),
        totals=dict(totals),
        daily=tuple((day, unit, cost) for (day, unit), cost in sorted(daily.items())),
        rows_scanned=rows,
    )


def _metric(metrics: Mapping[str, Any], name: str) -> tuple[Decimal | None, str]:
    value = metrics.get(name)
    if not value or value.get("Amount") is None:
        return None, ""
    try:
        return Decimal(str(value["Amount"])), str(value.get("Unit") or "USD")
    except ArithmeticError:
        raise SourceDataError(SOURCE, f"Cost Explorer sent a non-numeric {name}") from None


def _ungrouped_key(group: SpendDimension | None, day: date) -> str:
    if group is SpendDimension.day:
        return day.isoformat()
    if group is SpendDimension.provider:
        return "AWS"
    return "total"


class AwsCostExplorer:
    """CostSource over one AWS account (or an organisation's payer account)."""

    name = SOURCE

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        session: boto3.Session | None = None,
        team_tag: str = "team",
        model_tag: str = "model",
        pipeline_tag: str = "pipeline",
        timeout: float = 10,
    ) -> None:
        self.region = region
        self.timeout = timeout
        self.tags = {"team": team_tag, "model": model_tag, "pipeline": pipeline_tag}
        self._session = session
        self._client: Any = None
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are

    def _ce(self) -> Any:
        with self._lock:
            if self._client is None:
                session = self._session or boto3.Session()
                self._client = session.client(
                    "ce", config=boto_config(region=self.region, timeout=self.timeout)
                )
            return self._client

    async def spend(self, query: SpendQuery) -> SpendSummary:
        if query.end <= query.start:
            return SpendSummary(query=query, daily=(), rows_scanned=0)
        request = cost_and_usage_request(query, tags=self.tags)
        pages = await asyncio.to_thread(self._pages, request)
        return summary_from_pages(query, pages, tags=self.tags)

    def _pages(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        params = dict(request)
        try:
            client = self._ce()
            while True:
                page = client.get_cost_and_usage(**params)
                pages.append(page)
                token = page.get("NextPageToken")
                if not token:
                    return pages
                if len(pages) >= MAX_PAGES:
                    raise SourceDataError(
                        SOURCE,
                        f"Cost Explorer kept paginating after {MAX_PAGES} pages",
                        "narrow the period or the grouping",
                    )
                params["NextPageToken"] = token
        except Exception as exc:
            error = aws_error(exc, source=SOURCE, auth_fix=AUTH_FIX)
            log.warning("aws_call_failed", source=SOURCE, error=str(error))
            raise error from None

    async def coverage(self) -> CostCoverage:
        """Cost Explorer's days are UTC days; how far back its data goes and which services it
        has would each take a billed request, so they are left unknown."""
        return CostCoverage(source=SOURCE, timezone="UTC", measure=CostMeasure.effective)

    async def probe(self) -> ProbeResult:
        async def check() -> str:
            end = date.today()
            request = {
                "TimePeriod": {
                    "Start": (end - timedelta(days=1)).isoformat(),
                    "End": end.isoformat(),
                },
                "Granularity": "MONTHLY",
                "Metrics": ["UnblendedCost"],
            }
            await asyncio.to_thread(self._pages, request)
            return f"Cost Explorer answered in {self.region} (each request costs USD 0.01)"

        return await probe_call(SOURCE, check)
