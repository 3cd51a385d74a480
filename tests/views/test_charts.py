"""Charts: the PNG Slack gets, the sparkline the terminal gets, and the spec the outbox stores."""

from __future__ import annotations

import io
import math
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from bot.views.charts import (
    BARS,
    HEIGHT_PX,
    WIDTH_PX,
    _axis_money,
    chart_text,
    render_chart_png,
    sparkline,
    spec_from_json,
    spec_to_json,
)
from bot.views.reply import ChartSpec

START = date(2026, 10, 25)


def days(values: list[float], start: date = START) -> tuple[tuple[date, float], ...]:
    return tuple((start + timedelta(days=i), v) for i, v in enumerate(values))


def thirty_days(*, limit: float | None = 1500.0, compare: bool = True) -> ChartSpec:
    current = [1200 + 300 * math.sin(i / 3) + 15 * i for i in range(30)]
    previous = [1000 + 200 * math.cos(i / 4) for i in range(30)]
    return ChartSpec(
        title="Daily spend: ml-platform, the last 30 days",
        series=days(current),
        unit="USD",
        alt_text="Daily spend of ml-platform, rising past its budget pace",
        compare=days(previous, START - timedelta(days=30)) if compare else (),
        limit=limit,
    )


def png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # decodes every pixel: a truncated or corrupt PNG raises here
        return image.size


# ---- PNG ----------------------------------------------------------------------------------------


def test_chart_is_a_decodable_800_by_400_png_of_a_few_tens_of_kb() -> None:
    png = render_chart_png(thirty_days())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)
    # The IHDR chunk says the same as the decoder.
    assert png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (WIDTH_PX, HEIGHT_PX)
    assert 5_000 < len(png) < 100_000


def test_same_spec_gives_the_same_bytes_and_another_spec_other_bytes() -> None:
    spec = thirty_days()
    assert render_chart_png(spec) == render_chart_png(spec)
    assert render_chart_png(spec) != render_chart_png(thirty_days(limit=None))
    assert render_chart_png(spec) != render_chart_png(thirty_days(compare=False))


def test_png_carries_no_version_or_time_metadata() -> None:
    png = render_chart_png(thirty_days())
    assert b"Software" not in png and b"tIME" not in png


@pytest.mark.slow  # nine charts drawn twice
def test_charts_drawn_in_parallel_threads_equal_charts_drawn_one_by_one() -> None:
    specs = [thirty_days(), thirty_days(limit=None), thirty_days(compare=False)] * 3
    alone = [render_chart_png(s) for s in specs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(render_chart_png, specs))
    assert together == alone


@pytest.mark.parametrize(
    "series",
    [(), days([math.nan, math.nan]), days([math.inf])],
    ids=["empty", "all-nan", "only-inf"],
)
def test_series_without_values_draws_no_data_instead_of_raising(
    series: tuple[tuple[date, float], ...],
) -> None:
    spec = ChartSpec(title="Daily spend: finance", series=series, unit="EUR", alt_text="nothing")
    png = render_chart_png(spec)
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX)
    blank = render_chart_png(
        ChartSpec(title="Daily spend: finance", series=(), unit="EUR", alt_text="")
    )
    assert png == blank  # all "no data" charts of one title look alike


@pytest.mark.parametrize(
    "spec",
    [
        ChartSpec(title="one day", series=days([5.5]), unit="EUR", alt_text=""),
        ChartSpec(title="flat", series=days([0.0] * 7), unit="GBP", alt_text="", limit=0.0),
        ChartSpec(title="refunds", series=days([-20.0, 10.0, -5.0]), unit="CHF", alt_text=""),
        ChartSpec(title="x" * 500, series=days([1.0, 2.0]), unit="USD", alt_text=""),
        ChartSpec(
            title="a year", series=days([float(i) for i in range(365)]), unit="USD", alt_text=""
        ),
    ],
    ids=["one-day", "flat-zero", "negative", "long-title", "a-year"],
)
def test_odd_series_still_draw_a_chart(spec: ChartSpec) -> None:
    assert png_size(render_chart_png(spec)) == (WIDTH_PX, HEIGHT_PX)


@pytest.mark.parametrize(
    ("unit", "value", "label"),
    [
        ("USD", 1500.0, "$1.5k"),
        ("USD", 2000.0, "$2k"),
        ("EUR", 2_500_000.0, "€2.5M"),
        ("CHF", 1500.0, "1.5k CHF"),
        ("USD", -1500.0, "-$1.5k"),
        ("USD", 250.0, "$250"),
        ("USD", 2.5, "$2.50"),
        ("USD", 0.0, "$0"),
    ],
)
def test_money_axis_labels_are_short_and_carry_the_unit(
    unit: str, value: float, label: str
) -> None:
    assert _axis_money(unit)(value, None) == label


def test_spec_survives_the_trip_through_json() -> None:
    spec = thirty_days()
    assert spec_from_json(spec_to_json(spec)) == spec
    bare = ChartSpec(title="t", series=days([1.0]), unit="USD", alt_text="")
    assert spec_from_json(spec_to_json(bare)) == bare


def test_malformed_spec_json_is_refused() -> None:
    with pytest.raises((KeyError, ValueError, TypeError)):
        spec_from_json({"title": "t", "unit": "USD", "series": [["not a date", 1.0]]})
    with pytest.raises(KeyError):
        spec_from_json({"title": "t", "series": []})


# ---- sparkline ----------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(finite, max_size=60))
def test_sparkline_has_one_block_character_per_value(values: list[float]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    assert set(line) <= set(BARS)


@given(st.lists(finite, min_size=2, max_size=60).filter(lambda v: min(v) != max(v)))
def test_sparkline_maps_the_highest_value_to_a_full_bar_and_the_lowest_to_the_floor(
    values: list[float],
) -> None:
    line = sparkline(values)
    assert line[values.index(max(values))] == "█"
    assert line[values.index(min(values))] == "▁"


def test_two_neighbouring_subnormals_are_still_a_low_and_a_high_bar() -> None:
    # Found by hypothesis: halving both ends rounded the span of [0, 5e-324] to nothing.
    assert sparkline([0.0, 5e-324]) == "▁█"
    assert sparkline([-1.7e308, 1.7e308]) == "▁█"  # a span past the float limit still draws


@given(st.lists(finite, min_size=2, max_size=60))
def test_sparkline_keeps_the_order_of_values(values: list[float]) -> None:
    line = sparkline(values)
    for (a, bar_a), (b, bar_b) in pairwise(zip(values, line, strict=True)):
        if a <= b:
            assert BARS.index(bar_a) <= BARS.index(bar_b)
        else:
            assert BARS.index(bar_a) >= BARS.index(bar_b)


@given(finite, st.integers(min_value=1, max_value=40))
def test_constant_series_is_a_row_of_middle_bars(value: float, n: int) -> None:
    assert sparkline([value] * n) == "▄" * n


def test_empty_series_has_an_empty_sparkline_and_gaps_stay_gaps() -> None:
    assert sparkline([]) == ""
    assert sparkline([1.0, math.nan, 3.0]) == "▁ █"


# ---- terminal -----------------------------------------------------------------------------------


def test_chart_text_shows_title_sparkline_and_min_max_last_in_the_unit() -> None:
    spec = ChartSpec(
        title="Daily spend: data-eng, the last 7 days",
        series=days([100.0, 400.0, 250.0, 1200.0, 800.0]),
        unit="USD",
        alt_text="",
        limit=900.0,
    )
    title, line, facts = chart_text(spec).splitlines()
    assert title == spec.title
    assert line.startswith(sparkline([100.0, 400.0, 250.0, 1200.0, 800.0]))
    assert "25 Oct – 29 Oct" in line
    assert facts == "min $100.00 · max $1,200 · last $800.00 · limit $900.00"


def test_chart_text_of_an_empty_series_says_no_data() -> None:
    spec = ChartSpec(title="Daily spend: finance", series=(), unit="EUR", alt_text="")
    assert chart_text(spec) == "Daily spend: finance\n(no data)"


def test_ask_in_the_terminal_prints_the_answers_chart_as_a_sparkline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'switchboard.db'}")
    monkeypatch.setenv("SWITCHBOARD_CONFIG", str(tmp_path / "absent.yml"))  # the demo company
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["ask", "/ops spend last 30 days", "--now", "2026-11-23T12:00:00"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index("Daily spend: all teams, the last 30 days")
    line = lines[at + 1].split("  ")[0]
    assert len(line) == 30 and set(line) <= set(BARS) and "█" in line
    assert lines[at + 2].startswith("min $")
