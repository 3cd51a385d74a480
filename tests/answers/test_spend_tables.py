"""Smaller trust fixes in spend answers: credits, tax and purchases apart (`by charge_category`),
one list per currency under its code, and a past month's budget note about that month."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from bot.answers.spend import SpendAnswer, spend_answer
from bot.commands.grammar import ParsedCommand, parse
from bot.commands.intent import KnownNames, Understood, understand
from bot.views.spend import render_spend
from integrations.models import TAX_LINE
from tests.answers.own_data import own_deps
from tests.focus_export import Charge, utc

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
ALLOCATION = {"ownership": {"cost_allocation": {"team": {"data": "data-eng", "ml": "ml-platform"}}}}


async def answer(deps, **kwargs) -> SpendAnswer:  # type: ignore[no-untyped-def]
    found = await spend_answer(deps, **kwargs)
    assert isinstance(found, SpendAnswer), getattr(found, "message", found)
    return found


def test_by_charge_category_is_a_dimension_of_spend() -> None:
    for text in ("spend by charge_category", "spend 2026-05 by category"):
        parsed = parse(text)
        assert isinstance(parsed, ParsedCommand), parsed
        assert parsed.group_by == "charge_category"
    found = understand(
        "what did we spend in may 2026 by charge category",
        known=KnownNames(today=NOW.date()),
    )
    assert isinstance(found, Understood) and found.command == "spend 2026-05 by charge_category"


async def test_credits_tax_and_purchases_are_shown_apart(tmp_path):
    charges = [
        Charge(utc(2026, 5, 2), 100),
        Charge(utc(2026, 5, 3), -20, category="Credit"),
        Charge(utc(2026, 5, 4), 8, category="Tax"),
        Charge(utc(2026, 5, 5), 0, billed=300, category="Purchase"),
    ]
    deps = own_deps(tmp_path, charges, now=NOW)
    found = await answer(deps, period="2026-05", group_by="charge_category")
    assert {line.key: line.cost for line in found.lines} == {
        "Usage": Decimal(100),
        "Credit": Decimal(-20),
        "Tax": Decimal(8),
        "Purchase": Decimal(0),
    }


def tables(answer: SpendAnswer) -> list[tuple[str, list[str]]]:
    """(heading, keys) of each code block in the group-by section."""
    text = next(
        b["text"]["text"]
        for b in render_spend(answer).blocks
        if b.get("text", {}).get("text", "").startswith("*By ")
    )
    return [
        (heading, [row.split()[0] for row in body.strip().splitlines()])
        for heading, body in re.findall(r"\*(\w+)\*\n```\n(.*?)```", text, flags=re.S)
    ]


async def test_each_currency_has_its_own_list_so_no_team_appears_twice_in_one(tmp_path):
    charges = [
        Charge(utc(2026, 5, 2), 100, tags={"team": "data"}),
        Charge(utc(2026, 5, 3), 30, tags={"team": "ml"}),
        Charge(utc(2026, 5, 4), 50, currency="EUR", tags={"team": "data"}),
        Charge(utc(2026, 5, 5), 20, currency="EUR", tags={"team": "ml"}),
    ]
    deps = own_deps(tmp_path, charges, now=NOW, **ALLOCATION)
    found = await answer(deps, period="2026-05", group_by="team")
    assert tables(found) == [
        ("EUR", ["data-eng", "ml-platform"]),
        ("USD", ["data-eng", "ml-platform"]),
    ]


async def test_one_currency_keeps_one_plain_list(tmp_path):
    deps = own_deps(tmp_path, [Charge(utc(2026, 5, 2), 100, tags={"team": "data"})], now=NOW)
    found = await answer(deps, period="2026-05", group_by="service")
    assert tables(found) == []  # no heading: one list, as before
    assert "AmazonEC2" in json.dumps(render_spend(found).blocks)


async def test_a_past_months_budget_note_is_about_that_month(tmp_path):
    charges = [
        Charge(utc(2026, 5, 2), 100, tags={"team": "data"}),
        Charge(utc(2026, 5, 3), 40, currency="EUR", tags={"team": "data"}),
        Charge(utc(2026, 6, 2), 1, tags={"team": "data"}),
    ]
    deps = own_deps(
        tmp_path, charges, now=NOW, budgets={"data-eng": {"monthly": 500}}, **ALLOCATION
    )
    found = await answer(deps, team="data-eng", period="2026-05")
    assert found.budget is not None and found.budget.other_currencies == {"EUR": Decimal(40)}
    text = json.dumps(render_spend(found).blocks, ensure_ascii=False)
    assert "Also €40 in May, not counted against a USD budget." in text
    assert "this month" not in text


async def test_tax_is_one_labelled_line_by_service_and_never_a_mover(tmp_path):
    # Tax rows name a service (ServiceName is never null in FOCUS): the taxed one, as AWS's
    # export does, or a tax line of the provider's own. Neither is a service whose use moved.
    april_tax = [
        Charge(utc(2026, 4, 2), 400, service="AmazonEC2", category="Tax"),
        Charge(utc(2026, 4, 2), 300, service="Tax", category="Tax"),
    ]
    usage = [
        Charge(utc(2026, 4, 10), 1000, service="AmazonEC2"),
        Charge(utc(2026, 5, 10), 1100, service="AmazonEC2"),
        Charge(utc(2026, 5, 12), 50, service="AmazonS3"),
    ]
    deps = own_deps(tmp_path, [*april_tax, *usage], now=NOW)
    may = await answer(deps, period="2026-05")  # to the data's last day, vs as many days before
    april_days, may_days = (
        (may.previous.start, may.previous.end),
        (may.period.start, may.period.end),
    )

    def used(service: str, days: tuple) -> Decimal:  # type: ignore[type-arg]
        return sum(
            (
                Decimal(c.cost)
                for c in usage
                if c.service == service and days[0] <= c.at.date() < days[1]
            ),
            Decimal(0),
        )

    assert {m.key: m.delta for m in may.movers} == {
        s: used(s, may_days) - used(s, april_days) for s in ("AmazonEC2", "AmazonS3")
    }
    tax = sum((Decimal(c.cost) for c in april_tax), Decimal(0))
    total = may.total
    assert total is not None
    assert total.previous == used("AmazonEC2", april_days) + tax  # the totals keep tax
    assert may.tax_apart is not None and may.tax_apart.delta == -tax
    shown = json.dumps(render_spend(may).blocks)
    assert "Tax is not a service and is left out of the movers" in shown

    april = await answer(deps, period="2026-04", group_by="service")
    assert {line.key: line.cost for line in april.lines} == {
        "AmazonEC2": used("AmazonEC2", (april.period.start, april.period.end)),
        TAX_LINE: tax,
    }
