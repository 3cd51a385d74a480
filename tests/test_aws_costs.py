"""AWS Cost Explorer as a CostSource: request shape, response parsing, pagination, auth errors.

Parsing is checked against responses shaped like the real API (botocore's ce 2017-10-25
service model and the AWS CLI documentation examples: grouped results leave `Total` empty,
tag group keys read "key$value"). The end-to-end tests use moto, whose Cost Explorer returns
nothing unless results are queued through its documented
`/moto-api/static/ce/cost-and-usage-results` endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ReadTimeoutError
from botocore.validate import validate_parameters
from moto import mock_aws

from integrations.aws_costs import (
    AUTH_FIX,
    AwsCostExplorer,
    aws_error,
    cost_and_usage_request,
    summary_from_pages,
    tag_value,
)
from integrations.errors import SourceAuthError, SourceDataError, SourceUnavailable
from integrations.models import TAX_LINE, CostMeasure, SpendDimension, SpendQuery
from integrations.protocols import CostSource

TAGS = {"team": "team", "model": "model", "pipeline": "pipeline"}
NOV = {"start": date(2026, 11, 1), "end": date(2026, 11, 3)}
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# Shaped like a real DAILY answer grouped by TAG team (values as strings, Total left empty).
BY_TEAM_PAGE = {
    "GroupDefinitions": [{"Type": "TAG", "Key": "team"}],
    "ResultsByTime": [
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
            "Total": {},
            "Groups": [
                {
                    "Keys": ["team$ml-platform"],
                    "Metrics": {"AmortizedCost": {"Amount": "120.5", "Unit": "USD"}},
                },
                {
                    "Keys": ["team$data-eng"],
                    "Metrics": {"AmortizedCost": {"Amount": "30.25", "Unit": "USD"}},
                },
                {
                    "Keys": ["team$"],
                    "Metrics": {"AmortizedCost": {"Amount": "4.75", "Unit": "USD"}},
                },
            ],
            "Estimated": False,
        },
        {
            "TimePeriod": {"Start": "2026-11-02", "End": "2026-11-03"},
            "Total": {},
            "Groups": [
                {
                    "Keys": ["team$ml-platform"],
                    "Metrics": {"AmortizedCost": {"Amount": "100", "Unit": "USD"}},
                },
                {
                    "Keys": ["team$growth"],
                    "Metrics": {"AmortizedCost": {"Amount": "0", "Unit": "USD"}},
                },
            ],
            "Estimated": True,
        },
    ],
    "DimensionValueAttributes": [],
}

# Shaped like a real ungrouped DAILY answer: Total carries the metric, Groups is empty.
TOTAL_PAGE = {
    "ResultsByTime": [
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
            "Total": {"UnblendedCost": {"Amount": "10.0000001", "Unit": "USD"}},
            "Groups": [],
            "Estimated": False,
        },
        {
            "TimePeriod": {"Start": "2026-11-02", "End": "2026-11-03"},
            "Total": {"UnblendedCost": {"Amount": "0", "Unit": "USD"}},
            "Groups": [],
            "Estimated": True,
        },
    ],
    "DimensionValueAttributes": [],
}


def by_service_page(day: str, services: dict[str, str], token: str | None = None) -> dict:
    page: dict[str, Any] = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": day, "End": day},
                "Total": {},
                "Groups": [
                    {
                        "Keys": [name],
                        "Metrics": {"AmortizedCost": {"Amount": amount, "Unit": "USD"}},
                    }
                    for name, amount in services.items()
                ],
                "Estimated": False,
            }
        ],
        "DimensionValueAttributes": [],
    }
    if token:
        page["NextPageToken"] = token
    return page


def ce_input_shape() -> Any:
    model = botocore.session.get_session().get_service_model("ce")
    return model.operation_model("GetCostAndUsage").input_shape


# -- request building ------------------------------------------------------------------------


def test_effective_cost_reads_amortized_and_billed_reads_unblended() -> None:
    effective = cost_and_usage_request(SpendQuery(**NOV), tags=TAGS)
    billed = cost_and_usage_request(SpendQuery(**NOV, measure=CostMeasure.billed), tags=TAGS)
    assert effective["Metrics"] == ["AmortizedCost"]
    assert billed["Metrics"] == ["UnblendedCost"]
    assert effective["TimePeriod"] == {"Start": "2026-11-01", "End": "2026-11-03"}
    assert effective["Granularity"] == "DAILY"
    assert "Filter" not in effective and "GroupBy" not in effective


def test_single_filter_is_bare_and_several_are_combined_with_and() -> None:
    one = cost_and_usage_request(SpendQuery(**NOV, team="ml-platform"), tags=TAGS)
    assert one["Filter"] == {"Tags": {"Key": "team", "Values": ["ml-platform"]}}
    several = cost_and_usage_request(
        SpendQuery(**NOV, model="churn", service="Amazon SageMaker"),
        tags={**TAGS, "model": "ml:model"},
    )
    assert several["Filter"] == {
        "And": [
            {"Tags": {"Key": "ml:model", "Values": ["churn"]}},
            {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}},
        ]
    }


def test_unallocated_filter_asks_for_cost_without_the_tag() -> None:
    request = cost_and_usage_request(SpendQuery(**NOV, pipeline="unallocated"), tags=TAGS)
    assert request["Filter"] == {"Tags": {"Key": "pipeline", "MatchOptions": ["ABSENT"]}}


@pytest.mark.parametrize(
    ("dimension", "group_by"),
    [
        (SpendDimension.service, [{"Type": "DIMENSION", "Key": "SERVICE"}]),
        (SpendDimension.team, [{"Type": "TAG", "Key": "team"}]),
        (SpendDimension.model, [{"Type": "TAG", "Key": "model"}]),
        (SpendDimension.pipeline, [{"Type": "TAG", "Key": "pipeline"}]),
        (SpendDimension.charge_category, [{"Type": "DIMENSION", "Key": "RECORD_TYPE"}]),
    ],
)
def test_group_by_maps_to_cost_explorer_groups(dimension, group_by) -> None:
    request = cost_and_usage_request(SpendQuery(**NOV, group_by=dimension), tags=TAGS)
    assert request["GroupBy"] == group_by


def test_every_request_shape_passes_the_botocore_service_model() -> None:
    shape = ce_input_shape()
    for query in [
        SpendQuery(**NOV),
        SpendQuery(
            **NOV,
            team="ml",
            model="churn",
            pipeline="unallocated",
            service="Amazon S3",
            group_by=SpendDimension.team,
            measure=CostMeasure.billed,
        ),
    ]:
        validate_parameters(cost_and_usage_request(query, tags=TAGS), shape)


# -- response parsing ------------------------------------------------------------------------


def test_tag_group_keys_are_parsed_and_empty_values_are_unallocated() -> None:
    assert tag_value("team$ml-platform", "team") == "ml-platform"
    assert tag_value("team$", "team") == "unallocated"
    assert tag_value("cost$center$a", "cost$center") == "a"
    assert tag_value("team$price$tier", "team") == "price$tier"


def test_grouped_response_becomes_sorted_lines_totals_and_daily_series() -> None:
    query = SpendQuery(**NOV, group_by=SpendDimension.team)
    summary = summary_from_pages(query, [BY_TEAM_PAGE], tags=TAGS)
    assert [(line.key, line.cost, line.currency) for line in summary.lines] == [
        ("ml-platform", Decimal("220.5"), "USD"),
        ("data-eng", Decimal("30.25"), "USD"),
        ("unallocated", Decimal("4.75"), "USD"),
    ]
    assert summary.totals == {"USD": Decimal("255.5")}
    assert summary.daily == (
        (date(2026, 11, 1), "USD", Decimal("155.5")),
        (date(2026, 11, 2), "USD", Decimal("100")),
    )
    assert summary.rows_scanned == 5
    assert summary.query == query


def test_ungrouped_response_gives_one_total_line_and_keeps_zero_days() -> None:
    query = SpendQuery(**NOV, measure=CostMeasure.billed)
    summary = summary_from_pages(query, [TOTAL_PAGE], tags=TAGS)
    assert [(line.key, line.cost) for line in summary.lines] == [("total", Decimal("10.0000001"))]
    assert [cost for _day, _cur, cost in summary.daily] == [Decimal("10.0000001"), Decimal("0")]


def test_group_by_day_keys_lines_by_date() -> None:
    query = SpendQuery(**NOV, measure=CostMeasure.billed, group_by=SpendDimension.day)
    summary = summary_from_pages(query, [TOTAL_PAGE], tags=TAGS)
    assert [line.key for line in summary.lines] == ["2026-11-01", "2026-11-02"]


def test_totals_are_kept_per_currency_from_the_unit_field() -> None:
    page = by_service_page("2026-11-01", {"Amazon EC2": "10"})
    page["ResultsByTime"][0]["Groups"].append(
        {"Keys": ["Amazon S3"], "Metrics": {"AmortizedCost": {"Amount": "7", "Unit": "EUR"}}}
    )
    summary = summary_from_pages(
        SpendQuery(**NOV, group_by=SpendDimension.service), [page], tags=TAGS
    )
    assert summary.totals == {"USD": Decimal("10"), "EUR": Decimal("7")}
    assert [(line.currency, line.key) for line in summary.lines] == [
        ("EUR", "Amazon S3"),
        ("USD", "Amazon EC2"),
    ]


def test_cost_explorers_tax_service_is_the_tax_line_not_a_service() -> None:
    page = by_service_page("2026-11-01", {"Amazon EC2": "10", "Tax": "0.8"})
    by_service = SpendQuery(**NOV, group_by=SpendDimension.service)
    summary = summary_from_pages(by_service, [page], tags=TAGS)
    assert {line.key: line.cost for line in summary.lines} == {
        "Amazon EC2": Decimal("10"),
        TAX_LINE: Decimal("0.8"),
    }
    assert summary.totals == {"USD": Decimal("10.8")}


def test_a_non_numeric_amount_is_a_data_error() -> None:
    page = by_service_page("2026-11-01", {"Amazon EC2": "lots"})
    with pytest.raises(SourceDataError):
        summary_from_pages(SpendQuery(**NOV, group_by=SpendDimension.service), [page], tags=TAGS)


# -- error mapping ---------------------------------------------------------------------------


def test_connection_failures_and_timeouts_mean_unavailable() -> None:
    down = aws_error(
        EndpointConnectionError(endpoint_url="https://ce.us-east-1.amazonaws.com"),
        source="aws_cost_explorer",
        auth_fix=AUTH_FIX,
    )
    slow = aws_error(
        ReadTimeoutError(endpoint_url="https://ce.us-east-1.amazonaws.com"),
        source="aws_cost_explorer",
        auth_fix=AUTH_FIX,
    )
    assert isinstance(down, SourceUnavailable) and isinstance(slow, SourceUnavailable)


def test_missing_credentials_mean_an_auth_error_with_the_fix() -> None:
    error = aws_error(NoCredentialsError(), source="aws_cost_explorer", auth_fix=AUTH_FIX)
    assert isinstance(error, SourceAuthError)
    assert error.fix == AUTH_FIX


# -- end to end through boto3 ----------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def queue_ce_results(*pages: dict) -> None:
    answer = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results",
        json={"results": list(pages)},
        timeout=5,
    )
    assert answer.status_code == 201


async def test_adapter_is_a_cost_source() -> None:
    assert isinstance(AwsCostExplorer(), CostSource)
    assert AwsCostExplorer().name == "aws_cost_explorer"


async def test_spend_through_moto_parses_tag_groups(aws_env: None) -> None:
    queue_ce_results(BY_TEAM_PAGE)
    summary = await AwsCostExplorer().spend(SpendQuery(**NOV, group_by=SpendDimension.team))
    assert [line.key for line in summary.lines] == ["ml-platform", "data-eng", "unallocated"]
    assert summary.totals == {"USD": Decimal("255.5")}


async def test_spend_follows_next_page_token(aws_env: None) -> None:
    queue_ce_results(
        by_service_page("2026-11-01", {"Amazon EC2": "50", "Amazon S3": "5"}, token="page-2"),
        by_service_page("2026-11-02", {"Amazon EC2": "25", "AWS Lambda": "60"}),
    )
    summary = await AwsCostExplorer().spend(SpendQuery(**NOV, group_by=SpendDimension.service))
    assert [(line.key, line.cost) for line in summary.lines] == [
        ("Amazon EC2", Decimal("75")),
        ("AWS Lambda", Decimal("60")),
        ("Amazon S3", Decimal("5")),
    ]
    assert len(summary.daily) == 2


async def test_moto_without_queued_results_gives_an_empty_summary(aws_env: None) -> None:
    summary = await AwsCostExplorer().spend(SpendQuery(**NOV))
    assert summary.lines == () and summary.totals == {}


async def test_empty_period_does_not_call_aws() -> None:
    day = date(2026, 11, 1)
    summary = await AwsCostExplorer(session=no_credentials_session()).spend(
        SpendQuery(start=day, end=day)
    )
    assert summary.lines == ()


def no_credentials_session() -> boto3.Session:
    core = botocore.session.Session()
    core.get_component("credential_provider").providers = []  # nothing to find anywhere
    return boto3.Session(botocore_session=core, region_name="us-east-1")


async def test_no_credentials_is_an_auth_error_naming_the_fix() -> None:
    adapter = AwsCostExplorer(session=no_credentials_session())
    with pytest.raises(SourceAuthError) as caught:
        await adapter.spend(SpendQuery(**NOV))
    assert caught.value.fix == AUTH_FIX
    assert "NoCredentialsError" in caught.value.message
    probe = await adapter.probe()
    assert probe.authenticated is False and probe.fix == AUTH_FIX


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.body


def answering_access_denied(**kwargs: Any) -> AWSResponse:
    body = json.dumps(
        {
            "__type": "AccessDeniedException",
            "Message": f"User: arn:aws:iam::123456789012:user/bot key {ACCESS_KEY} is not "
            "authorized to perform: ce:GetCostAndUsage",
        }
    ).encode()
    return AWSResponse(
        kwargs["request"].url, 400, {"x-amzn-ErrorType": "AccessDeniedException"}, _Body(body)
    )


async def test_access_denied_is_an_auth_error_that_never_echoes_keys() -> None:
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )
    # Answer at the HTTP boundary, so botocore parses a real AccessDenied error response.
    session.events.register("before-send.ce", answering_access_denied)
    with pytest.raises(SourceAuthError) as caught:
        await AwsCostExplorer(session=session).spend(SpendQuery(**NOV))
    text = str(caught.value)
    assert "AccessDeniedException" in caught.value.message
    assert "ce:GetCostAndUsage" in text
    assert ACCESS_KEY not in text and SECRET_KEY not in text
    assert "123456789012" not in text


async def test_probe_through_moto_is_reachable_and_authenticated(aws_env: None) -> None:
    probe = await AwsCostExplorer().probe()
    assert probe.reachable and probe.authenticated
    assert probe.source == "aws_cost_explorer"
