"""Allocation rules read tag keys as people write them (`Owner` finds `owner`), and the probe
behind check-sources says when a rule matches nothing or most spend lands on no team."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bot.cli import app
from integrations.focus import FocusCostSource
from integrations.models import SpendDimension, SpendQuery
from tests.focus_export import Charge, utc, write_export

MAY = SpendQuery(start=date(2026, 5, 1), end=date(2026, 6, 1), group_by=SpendDimension.team)
TAGGED = [
    Charge(utc(2026, 5, 2), 40, tags={"owner": "alice"}),
    Charge(utc(2026, 5, 3), 25, tags={"OWNER": "bob"}),
    Charge(utc(2026, 5, 4), 5, tags={"Team": "ml-platform"}),
    Charge(utc(2026, 5, 5), 30),
]


def by_team(summary) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {line.key: line.cost for line in summary.lines}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_a_rule_on_a_tag_key_matches_every_spelling_of_it(tmp_path, fmt):
    export = write_export(TAGGED, tmp_path / "x", fmt=fmt)
    source = FocusCostSource(
        f"{export}/*.{fmt}", allocation={"Owner": {"alice": "data-eng", "bob": "analytics"}}
    )
    teams = by_team(await source.spend(MAY))
    assert teams == {
        "data-eng": Decimal(40),
        "analytics": Decimal(25),
        "ml-platform": Decimal(5),  # a `Team` tag is the team tag too
        "unallocated": Decimal(30),
    }
    only = await source.spend(MAY.model_copy(update={"team": "data-eng", "group_by": None}))
    assert only.totals == {"USD": Decimal(40)}


async def test_the_exact_spelling_wins_when_a_row_has_both(tmp_path):
    both = [Charge(utc(2026, 5, 2), 10, tags={"Owner": "alice", "owner": "bob"})]
    export = write_export(both, tmp_path / "x")
    source = FocusCostSource(
        f"{export}/*.parquet", allocation={"Owner": {"alice": "data-eng", "bob": "analytics"}}
    )
    assert by_team(await source.spend(MAY)) == {"data-eng": Decimal(10)}


async def test_the_probe_warns_of_rules_that_match_nothing_and_of_mostly_unallocated_spend(
    tmp_path,
):
    charges = [
        Charge(utc(2026, 5, 2), 10, tags={"owner": "alice", "cost_center": "CC-1"}),
        Charge(utc(2026, 5, 3), 90),
    ]
    export = write_export(charges, tmp_path / "x")
    source = FocusCostSource(
        f"{export}/*.parquet",
        allocation={
            "Owner": {"alice": "data-eng", "carol": "analytics"},
            "costcenter": {"CC-1": "ml-platform"},
        },
    )
    result = await source.probe()
    assert result.reachable
    assert result.warnings == (
        "ownership.cost_allocation.Owner: 'carol' -> analytics matches no row",
        "ownership.cost_allocation.costcenter: no row has a tag 'costcenter' "
        "(did you mean 'cost_center'?)",
        "90% of the USD spend has no team: no allocation rule, `team` tag or service owner "
        "names one (`/ops spend team:unallocated by service` shows where it is)",
    )


async def test_a_well_allocated_export_has_no_warnings(tmp_path):
    charges = [Charge(utc(2026, 5, 2), 60, tags={"team": "ml"}), Charge(utc(2026, 5, 3), 40)]
    export = write_export(charges, tmp_path / "x")
    source = FocusCostSource(f"{export}/*.parquet", allocation={"team": {"ml": "ml-platform"}})
    assert (await source.probe()).warnings == ()


def test_check_sources_prints_the_warnings_and_still_passes(tmp_path):
    export = write_export([Charge(utc(2026, 5, 2), 10, tags={"owner": "zed"})], tmp_path / "x")
    config = tmp_path / "ops.yml"
    config.write_text(
        "version: 1\n"
        "teams:\n  data-eng: {channel: C0123DATA}\n"
        "ownership:\n  cost_allocation:\n    Owner: {alice: data-eng}\n"
        f"sources:\n  focus: {{path: '{export}/*.parquet'}}\n"
    )
    result = CliRunner().invoke(app, ["check-sources", str(config)])
    assert result.exit_code == 0, result.output
    assert "warn: ownership.cost_allocation.Owner: 'alice' -> data-eng matches no row" in (
        result.stdout
    )
    assert "warn: 100% of the USD spend has no team" in result.stdout
    assert "all 1 source(s) OK, 2 warning(s)" in result.stdout
