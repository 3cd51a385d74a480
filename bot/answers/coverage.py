"""What the cost data covers, as one answer needs it: where it starts and ends, the zone its days
are cut in and the cost column summed, from every cost source's own account (CostCoverage).

A claim is made only when every source can tell: one that cannot (Cost Explorer's span) or did
not answer leaves the span unknown, so no answer says "the data ends" from half the sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.answers.deps import AnswerDeps
from integrations.models import CostCoverage, SourceProblem


@dataclass(frozen=True)
class CostData:
    """What the cost sources' data covers, as far as every source can tell."""

    first_day: date | None  # the earliest first day, when every source knows its own
    last_day: date | None  # the latest last day, when every source knows its own
    ends: tuple[tuple[str, date], ...]  # (source, last day) of each source that knows it
    timezone: str  # the zone days are cut in: "Europe/Berlin", or one per source when they differ
    measure: str  # "EffectiveCost", or one per source when they differ; "" when unknown

    def ended_before(self, day: date) -> tuple[SourceProblem, ...]:
        """A problem per source whose data ends before `day`: its part of the answer is missing."""
        return tuple(
            SourceProblem(source=source, reason=f"cost data ends {last:%d %b %Y}")
            for source, last in self.ends
            if last < day
        )


def _per_source(values: dict[str, str]) -> str:
    """One value when every source agrees, else "value (source), …"."""
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return ", ".join(f"{value} ({source})" for source, value in values.items())


async def cost_data(deps: AnswerDeps) -> tuple[CostData, tuple[CostCoverage, ...]]:
    """The coverage of every cost source (cached by the sources), and what it means together."""
    ask = getattr(deps.sources, "coverage", None)
    found = await ask() if ask is not None else None
    coverage: tuple[CostCoverage, ...] = found.value if found is not None else ()
    known = bool(coverage) and found is not None and not found.problems
    firsts = [c.first_day for c in coverage]
    lasts = [c.last_day for c in coverage]
    zones = {c.source: c.timezone for c in coverage if c.timezone}
    measures = {c.source: str(c.measure) for c in coverage if c.measure is not None}
    data = CostData(
        first_day=min(d for d in firsts if d) if known and all(firsts) else None,
        last_day=max(d for d in lasts if d) if known and all(lasts) else None,
        ends=tuple((c.source, c.last_day) for c in coverage if c.last_day is not None),
        # Without a word from the sources, days are the workspace's (what sources default to).
        timezone=_per_source(zones) if zones else str(deps.workspace_tz),
        measure=_per_source(measures) if measures else "",
    )
    return data, coverage
