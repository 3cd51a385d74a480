"""A rendered answer: fallback text plus Block Kit blocks, and where it should be shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Block = dict[str, Any]


@dataclass(frozen=True)
class ChartSpec:
    """A chart an answer would rather show than tell: drawn (PNG) only when the answer is posted
    in a channel, shown as a sparkline in the terminal."""

    title: str
    series: tuple[tuple[date, float], ...]  # (day, value), oldest first
    unit: str  # e.g. "USD"
    alt_text: str  # what the chart shows, for screen readers and clients without images
    compare: tuple[tuple[date, float], ...] = ()  # the previous period, drawn dimmed
    limit: float | None = None  # e.g. the budget's daily pace or the monthly budget line


@dataclass(frozen=True)
class Reply:
    text: str  # notification / accessibility fallback, also what old clients show
    blocks: list[Block] = field(default_factory=list)
    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    chart: ChartSpec | None = None

    def as_slack_response(self) -> dict[str, Any]:
        return {"response_type": self.response_type, "text": self.text, "blocks": self.blocks}
