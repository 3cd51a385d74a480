"""Days and months are cut in the zone the answer names: the workspace's unless ops.yml gives the
FOCUS export its own (`sources.focus.day_timezone`), and the footer says which."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from bot.answers.spend import SpendAnswer, spend_answer
from bot.views.spend import render_spend
from tests.answers.own_data import own_deps
from tests.focus_export import Charge, utc

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
# Three charges around May in Berlin: 23:00 UTC on 30 April is already 1 May there, and 23:00
# UTC on 31 May already 1 June. A May cut at Berlin midnights has 100 + 10; at UTC ones 10 + 7.
AROUND_MAY = [
    Charge(utc(2026, 4, 30, 23), 100),
    Charge(utc(2026, 5, 15, 12), 10),
    Charge(utc(2026, 5, 31, 23), 7),
]


async def may(deps) -> SpendAnswer:  # type: ignore[no-untyped-def]
    found = await spend_answer(deps, period="2026-05")
    assert isinstance(found, SpendAnswer), found
    return found


def footer(answer: SpendAnswer) -> str:
    return json.dumps(render_spend(answer).blocks[-1], ensure_ascii=False)


async def test_a_month_is_cut_at_the_workspaces_midnights_when_the_export_names_no_zone(tmp_path):
    deps = own_deps(tmp_path, AROUND_MAY, now=NOW, workspace={"timezone": "Europe/Berlin"})
    found = await may(deps)
    assert found.total is not None and found.total.current == Decimal(110)
    assert found.timezone == "Europe/Berlin"
    assert "days in Europe/Berlin" in footer(found)


async def test_day_timezone_cuts_the_exports_days_and_the_footer_says_that_zone(tmp_path):
    deps = own_deps(
        tmp_path,
        AROUND_MAY,
        now=NOW,
        workspace={"timezone": "Europe/Berlin"},
        focus={"day_timezone": "UTC"},
    )
    found = await may(deps)
    assert found.total is not None and found.total.current == Decimal(17)
    assert "days in UTC" in footer(found) and "Europe/Berlin" not in footer(found)


async def test_the_old_timezone_key_still_cuts_days_in_its_zone(tmp_path):
    deps = own_deps(
        tmp_path,
        AROUND_MAY,
        now=NOW,
        workspace={"timezone": "Europe/Berlin"},
        focus={"timezone": "UTC"},
    )
    found = await may(deps)
    assert found.total is not None and found.total.current == Decimal(17)
    assert found.timezone == "UTC"


async def test_the_answer_says_which_cost_column_it_sums(tmp_path):
    credit = [Charge(utc(2026, 5, 3), 30, billed=45)]
    effective = await may(own_deps(tmp_path / "e", credit, now=NOW))
    billed = await may(own_deps(tmp_path / "b", credit, now=NOW, focus={"measure": "BilledCost"}))
    assert effective.total is not None and effective.total.current == Decimal(30)
    assert billed.total is not None and billed.total.current == Decimal(45)
    assert "EffectiveCost" in footer(effective) and "BilledCost" not in footer(effective)
    assert "BilledCost" in footer(billed)
