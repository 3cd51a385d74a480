"""What a FOCUS export covers: first and last charge day in the zone days are cut in, the measure
and the services, read once per set of files."""

from __future__ import annotations

from datetime import date

from integrations.focus import FocusCostSource
from integrations.hub import Sources
from tests.focus_export import Charge, daily, utc, write_export


async def test_coverage_is_the_first_and_last_charge_day_and_the_services_billed(tmp_path):
    charges = daily(utc(2026, 3, 1, 6), utc(2026, 5, 28, 6), 10.0, service="AmazonEC2")
    charges += [Charge(utc(2026, 4, 2), 3.0, service="AmazonS3")]
    source = FocusCostSource(str(write_export(charges, tmp_path / "x")), measure="BilledCost")
    found = await source.coverage()
    assert (found.first_day, found.last_day) == (date(2026, 3, 1), date(2026, 5, 28))
    assert found.services == ("AmazonEC2", "AmazonS3")
    assert found.timezone == "UTC" and str(found.measure) == "BilledCost"


async def test_coverage_days_are_local_days_of_the_zone_the_source_cuts_in(tmp_path):
    late = [Charge(utc(2026, 5, 28, 23), 1.0), Charge(utc(2026, 3, 1, 0), 1.0)]
    path = str(write_export(late, tmp_path / "x"))
    berlin = await FocusCostSource(path, timezone="Europe/Berlin").coverage()
    new_york = await FocusCostSource(path, timezone="America/New_York").coverage()
    assert berlin.last_day == date(2026, 5, 29)  # 23:00 UTC is after midnight in Berlin
    assert new_york.first_day == date(2026, 2, 28)  # midnight UTC is the evening before
    assert berlin.timezone == "Europe/Berlin"


async def test_a_new_monthly_file_moves_the_end_of_the_data(tmp_path):
    folder = tmp_path / "exports"
    write_export([Charge(utc(2026, 4, 10), 1.0)], folder)
    source = FocusCostSource(str(folder / "*.parquet"))
    assert (await source.coverage()).last_day == date(2026, 4, 10)
    write_export([Charge(utc(2026, 5, 3), 1.0)], folder)
    assert (await source.coverage()).last_day == date(2026, 5, 3)


async def test_the_hub_lists_each_cost_sources_coverage_and_unknown_for_one_that_cannot_say(
    tmp_path,
):
    class NoCoverage:
        name = "other"

        async def spend(self, query):  # type: ignore[no-untyped-def]
            raise AssertionError("not asked")

    focus = FocusCostSource(str(write_export([Charge(utc(2026, 4, 10), 1.0)], tmp_path / "x")))
    found = await Sources(costs=[focus, NoCoverage()]).coverage()
    first, other = found.value
    assert first.source == "focus" and first.last_day == date(2026, 4, 10)
    assert other.source == "other" and other.last_day is None and other.timezone is None
    assert not found.problems
