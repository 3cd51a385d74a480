"""`/ops spend team:unallocated …` drills into the spend no team carries: by service, by billing
account and by sub-account, where a FinOps lead goes looking for an owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from bot.answers.spend import SpendAnswer, spend_answer
from bot.commands.context import AskContext
from bot.router import build_router
from integrations.models import SpendDimension
from tests.answers.own_data import own_config, own_deps, own_services
from tests.focus_export import Charge, utc, write_export

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
ALLOCATION = {"ownership": {"cost_allocation": {"team": {"data": "data-eng"}}}}
CHARGES = [
    Charge(utc(2026, 5, 2), 100, tags={"team": "data"}, sub_account="prod-1"),
    Charge(utc(2026, 5, 3), 40, service="AmazonS3", sub_account="sandbox-7"),
    Charge(utc(2026, 5, 4), 15, service="AmazonEC2", sub_account="sandbox-7", account="2222"),
    Charge(utc(2026, 5, 5), 5, service="AmazonEC2", tags={"team": ""}),  # empty: no team
]


async def unallocated(deps, **kwargs) -> SpendAnswer:  # type: ignore[no-untyped-def]
    found = await spend_answer(deps, team="unallocated", period="2026-05", **kwargs)
    assert isinstance(found, SpendAnswer), getattr(found, "message", found)
    return found


def lines(answer: SpendAnswer) -> dict[str, Decimal]:
    return {line.key: line.cost for line in answer.lines}


async def test_unallocated_spend_answers_by_service(tmp_path):
    deps = own_deps(tmp_path, CHARGES, now=NOW, **ALLOCATION)
    found = await unallocated(deps, group_by="service")
    assert found.unallocated and found.budget is None
    assert found.total is not None and found.total.current == Decimal(60)
    assert lines(found) == {"AmazonS3": Decimal(40), "AmazonEC2": Decimal(20)}
    assert found.movers_by is SpendDimension.service


async def test_unallocated_spend_answers_by_account_and_sub_account(tmp_path):
    deps = own_deps(tmp_path, CHARGES, now=NOW, **ALLOCATION)
    by_sub = await unallocated(deps, group_by="sub_account")
    assert lines(by_sub) == {"sandbox-7": Decimal(55), "unknown": Decimal(5)}
    by_account = await unallocated(deps, group_by="account")
    assert lines(by_account) == {"111111111111": Decimal(45), "2222": Decimal(15)}


async def test_the_slash_command_answers_and_names_what_it_shows(tmp_path):
    export = write_export(CHARGES, tmp_path / "exports")
    services = own_services(own_config(export, **ALLOCATION))
    ctx = AskContext(services=services, now=NOW, surface="slash_command")
    reply = await build_router().answer("spend team:unallocated 2026-05 by sub_account", ctx)
    assert reply.text.startswith("Spend with no team (*unallocated*) was *$60* in May 2026")
    text = json.dumps(reply.blocks)
    assert "*By sub_account*" in text and "sandbox-7" in text
    assert "no such team" not in text and "I don't know a team" not in text


async def test_a_team_called_unallocated_in_ops_yml_is_that_team(tmp_path):
    teams = {"unallocated": {"channel": "C0123UNAL"}, "data-eng": {"channel": "C0123DATA"}}
    deps = own_deps(tmp_path, CHARGES, now=NOW, teams=teams, **ALLOCATION)
    found = await spend_answer(deps, team="unallocated", period="2026-05")
    assert isinstance(found, SpendAnswer) and found.scope.team == "unallocated"


async def test_an_export_without_sub_accounts_says_it_cannot_split_by_them(tmp_path):
    export = write_export(CHARGES, tmp_path / "exports", without=("SubAccountId",))
    services = own_services(own_config(export, **ALLOCATION))
    ctx = AskContext(services=services, now=NOW, surface="slash_command")
    reply = await build_router().answer("spend 2026-05 by sub_account", ctx)
    assert "these files have no SubAccountId column" in json.dumps(reply.blocks)
