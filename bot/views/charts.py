"""Drawing a ChartSpec: a spend-trend PNG for Slack, a sparkline line for the terminal."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.views.format import money
from bot.views.reply import ChartSpec

BARS = "▁▂▃▄▅▆▇█"
WIDTH_PX, HEIGHT_PX, DPI = 800, 400, 100
TITLE_CHARS = 90  # what fits on one line at this width

# Colours: the current period stands out, the previous one recedes, the limit warns.
CURRENT = "#1264a3"
PREVIOUS = "#9aa5b1"
LIMIT = "#e01e5a"
INK = "#1d1c1d"
GRID = "#e8e8e8"


# ---- terminal ---------------------------------------------------------------------------------


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, lowest ▁ to highest █; a flat series is all ▄.

    Non-finite values (NaN, ±inf) have no height: they show as a space.
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return " " * len(values)
    lo, hi = min(finite), max(finite)
    # hi - lo is exact for neighbours as close as two subnormals (halving both would round the
    # span to 0 and draw a flat line); halving first is only needed when the span overflows.
    halve = not math.isfinite(hi - lo)
    span = hi / 2 - lo / 2 if halve else hi - lo
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(" ")
        elif span <= 0:
            out.append(BARS[3])
        else:
            ratio = (v / 2 - lo / 2 if halve else v - lo) / span
            out.append(BARS[min(int(ratio * len(BARS)), len(BARS) - 1)])
    return "".join(out)


def chart_text(spec: ChartSpec) -> str:
    """The chart for a terminal: title, sparkline, then min / max / last (and the limit)."""
    values = [v for _, v in spec.series if math.isfinite(v)]
    if not values:
        return f"{spec.title}\n(no data)"
    first, last = spec.series[0][0], spec.series[-1][0]
    facts = [
        f"min {money(min(values), spec.unit)}",
        f"max {money(max(values), spec.unit)}",
        f"last {money(values[-1], spec.unit)}",
    ]
    if spec.limit is not None:
        facts.append(f"limit {money(spec.limit, spec.unit)}")
    span = f"{first:%d %b} – {last:%d %b}" if first != last else f"{first:%d %b}"
    return "\n".join(
        [spec.title, f"{sparkline([v for _, v in spec.series])}  {span}", " · ".join(facts)]
    )


# ---- storing a spec (the outbox re-renders at send time) --------------------------------------


def spec_to_json(spec: ChartSpec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "unit": spec.unit,
        "alt_text": spec.alt_text,
        "series": [[d.isoformat(), float(v)] for d, v in spec.series],
        "compare": [[d.isoformat(), float(v)] for d, v in spec.compare],
        "limit": spec.limit,
    }


def spec_from_json(data: dict[str, Any]) -> ChartSpec:
    """Inverse of ``spec_to_json``; raises ValueError/KeyError/TypeError on a malformed spec."""

    def points(raw: Any) -> tuple[tuple[date, float], ...]:
        return tuple((date.fromisoformat(str(d)), float(v)) for d, v in raw or ())

    limit = data.get("limit")
    return ChartSpec(
        title=str(data["title"]),
        series=points(data["series"]),
        unit=str(data["unit"]),
        alt_text=str(data.get("alt_text") or ""),
        compare=points(data.get("compare")),
        limit=None if limit is None else float(limit),
    )


# ---- PNG ----------------------------------------------------------------------------------------


def _axis_money(unit: str) -> Any:
    def label(value: float, _pos: object) -> str:
        size = abs(value)
        for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if size >= threshold:
                short = f"{size / threshold:.1f}".removesuffix(".0") + suffix
                sign = "-" if value < 0 else ""
                return sign + money(0, unit, cents=False).replace("0", short, 1)
        return money(value, unit, cents=size < 10 and value != int(value))

    return label


def _finite(points: Sequence[tuple[date, float]]) -> list[tuple[date, float]]:
    return [(d, v) for d, v in points if math.isfinite(v)]


def render_chart_png(spec: ChartSpec) -> bytes:
    """An 800×400 PNG of the spec; the same spec gives the same bytes.

    Builds a ``Figure`` with its own Agg canvas (no pyplot global state), so it is safe to
    call from several threads at once.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    title = spec.title if len(spec.title) <= TITLE_CHARS else spec.title[: TITLE_CHARS - 1] + "…"
    ax.set_title(title, loc="left", fontsize=13, color=INK, pad=12)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(PREVIOUS)
    ax.tick_params(colors=INK, labelsize=9, length=0)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)

    current = _finite(spec.series)
    if not current:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines["bottom"].set_visible(False)
        ax.text(
            0.5,
            0.5,
            "no data",
            ha="center",
            va="center",
            fontsize=14,
            color=PREVIOUS,
            transform=ax.transAxes,
        )
    else:
        _draw_series(ax, spec, current)
        ax.yaxis.set_major_formatter(FuncFormatter(_axis_money(spec.unit)))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
        short = (current[-1][0] - current[0][0]).days < 7
        # Days are the finest unit a daily series has: never tick hours.
        ax.xaxis.set_major_locator(
            DayLocator() if short else AutoDateLocator(minticks=3, maxticks=8)
        )
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
        ax.margins(x=0.01)
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))

    fig.tight_layout(pad=1.0)
    buffer = io.BytesIO()
    # No "Software" text chunk: the bytes depend on the spec alone, not on the version.
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _draw_series(ax: Any, spec: ChartSpec, current: list[tuple[date, float]]) -> None:
    days = [d for d, _ in current]
    values = [v for _, v in current]
    previous = _finite(spec.compare)
    if previous:
        # The previous period is laid over the current one, day n on day n.
        shift = days[0] - previous[0][0]
        ax.plot(
            [d + shift for d, _ in previous],
            [v for _, v in previous],
            color=PREVIOUS,
            linewidth=1.6,
            label="previous period",
        )
    ax.fill_between(days, values, color=CURRENT, alpha=0.12, linewidth=0)
    ax.plot(
        days,
        values,
        color=CURRENT,
        linewidth=2.2,
        label="this period",
        marker="o" if len(days) == 1 else None,
    )
    if spec.limit is not None and math.isfinite(spec.limit):
        ax.axhline(
            spec.limit,
            color=LIMIT,
            linewidth=1.4,
            linestyle=(0, (5, 4)),
            label=f"limit {money(spec.limit, spec.unit)}",
        )
    if len(days) == 1:
        ax.set_xlim(days[0] - timedelta(days=1), days[0] + timedelta(days=1))
    if previous or spec.limit is not None:
        # Under the dates, so a long title never runs into it.
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.09), frameon=False, fontsize=9, ncols=3
        )
