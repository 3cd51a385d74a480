"""Plain spend questions over an export the test writes: a service is found in the data (or the
period asked), whenever it was billed; short names read as the provider's service names; a month
without a year is the latest such month with data, and the answer says how it read both."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.answers.spend import SpendAnswer, spend_answer
from bot.commands.context import AskContext
from bot.router import build_router
from bot.services import Services
from bot.views.reply import Reply
from integrations.focus import FocusCostSource
from integrations.models import SpendQuery, SpendSummary
from tests.answers.own_data import own_config, own_deps, own_services
from tests.focus_export import Charge, daily, utc, write_export

TODAY = datetime(2026, 11, 23, 12, tzinfo=UTC)  # long after the export below ends
# AWS as a FOCUS export spells services by code; BigQuery is billed in May only.
EXPORT = (
    daily(utc(2026, 3, 1, 6), utc(2026, 5, 28, 6), 10, service="AmazonEC2")
    + daily(utc(2026, 3, 1, 6), utc(2026, 5, 28, 6), 2, service="AmazonS3")
    + daily(utc(2026, 5, 1, 6), utc(2026, 5, 10, 6), 7, service="BigQuery", provider="Google")
)


def services_over(tmp_path, charges: list[Charge]) -> Services:  # type: ignore[no-untyped-def]
    return own_services(own_config(write_export(charges, tmp_path / "exports")))


async def ask(services: Services, text: str, now: datetime = TODAY) -> tuple[str, Reply]:
    ctx = AskContext(services=services, now=now, surface="terminal")
    found = await build_router().answer_detail(text, ctx)
    return found.command or "", found.reply


def reading(reply: Reply) -> str:
    """The "I read this as …" line."""
    return json.dumps(reply.blocks[0], ensure_ascii=False)


async def test_a_service_billed_only_months_ago_is_found_in_the_period_asked(tmp_path):
    command, reply = await ask(
        services_over(tmp_path, EXPORT), "how much did BigQuery cost in May 2026?"
    )
    assert command == "spend service:BigQuery 2026-05"
    assert "I did not use" not in reading(reply)
    assert reply.text.startswith("*BigQuery* cost *$70* in May 2026")


async def test_short_names_read_as_the_providers_service_names_and_the_answer_says_so(tmp_path):
    services = services_over(tmp_path, EXPORT)
    command, reply = await ask(services, "what did s3 cost in april 2026")
    assert command == "spend service:AmazonS3 2026-04"
    assert "“s3” read as AmazonS3" in reading(reply)
    assert reply.text.startswith("*AmazonS3* cost *$60* in April 2026")
    command, _reply = await ask(services, "ec2 spend in april 2026")
    assert command == "spend service:AmazonEC2 2026-04"


async def test_a_short_name_in_a_command_is_read_and_the_answer_says_how(tmp_path):
    deps = own_deps(tmp_path, EXPORT, now=TODAY)
    found = await spend_answer(deps, service="ec2", period="2026-04")
    assert isinstance(found, SpendAnswer)
    assert found.scope.service == "AmazonEC2" and found.scope.notes == ("ec2 read as AmazonEC2",)
    assert found.total is not None and found.total.current == Decimal(300)
    _command, reply = await ask(
        services_over(tmp_path / "r", EXPORT), "/ops spend service:bq 2026-05"
    )
    assert "bq read as BigQuery" in json.dumps(reply.blocks)


class Unlisting:
    """A cost source that cannot list its services (as Cost Explorer cannot without a billed
    request): only spend and probe."""

    name = "unlisting"

    def __init__(self, inner: FocusCostSource) -> None:
        self.inner = inner
        self.windows: list[tuple[date, date]] = []

    async def spend(self, query: SpendQuery) -> SpendSummary:
        if query.group_by is not None and str(query.group_by) == "service":
            self.windows.append((query.start, query.end))
        return await self.inner.spend(query)

    async def probe(self):  # type: ignore[no-untyped-def]  # pragma: no cover - not asked
        raise NotImplementedError


async def test_a_source_that_cannot_list_services_is_asked_for_those_of_the_period_asked(
    tmp_path,
):
    export = write_export(EXPORT, tmp_path / "exports")
    unlisting = Unlisting(FocusCostSource(f"{export}/*.parquet"))
    config = own_config(export)
    built = own_services(config)
    services = replace(built, sources=type(built.sources)(costs=[unlisting]))
    command, reply = await ask(services, "how much did bigquery cost in may 2026")
    assert command == "spend service:BigQuery 2026-05"
    assert (date(2026, 5, 1), date(2026, 6, 1)) in unlisting.windows


async def test_a_month_without_a_year_is_the_latest_such_month_with_data(tmp_path):
    services = services_over(tmp_path, EXPORT)
    command, reply = await ask(services, "how much did we spend in may?")
    assert command == "spend 2026-05"
    assert "“may” read as May 2026" in reading(reply)
    # November 2026 has no data yet (the export ends in May), so "november" is last year's.
    command, reply = await ask(services, "what did we spend in november")
    assert command == "spend 2025-11"
    assert "read as November 2025" in reading(reply)


async def test_this_month_by_name_is_this_month_once_it_has_data(tmp_path):
    charges = daily(utc(2026, 10, 1, 6), utc(2026, 11, 20, 6), 5)
    command, reply = await ask(services_over(tmp_path, charges), "spend in november")
    assert command == "spend 2026-11"
    assert "read as November 2026 so far" in reading(reply)
