"""What a detector is and what one run of it finds.

A detector reads the sources through `AnswerDeps` (the same reads `/ops` answers make) and the
thresholds of ops.yml, and returns the alerts that hold *now* (`Findings`): every firing
`AlertEvent`, plus whether its reads were complete. The runner (bot.incidents.detectors.runner)
compares them with what it announced before and hands only the changes to the sink.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertEvent, AlertStatus, Link, Severity, Subject
from integrations.models import SourceProblem


@dataclass(frozen=True)
class Findings:
    """The alerts that hold now. With `problems` (a source did not answer) the reads were
    incomplete: what is missing may still hold, so nothing is resolved on this run."""

    firing: Sequence[AlertEvent] = ()
    problems: Sequence[SourceProblem] = ()

    @property
    def complete(self) -> bool:
        return not self.problems


DetectorFn = Callable[[AnswerDeps], Awaitable[Findings]]


@dataclass(frozen=True)
class Detector:
    name: str  # "pipeline_failure": the job id is detector:<name>, the source detector:<name>
    run: DetectorFn
    every: timedelta

    @property
    def source(self) -> str:
        return f"detector:{self.name}"


def firing(
    detector: str,
    key: str,
    title: str,
    *,
    now: datetime,
    summary: str = "",
    severity: Severity = Severity.warning,
    subject: Subject | None = None,
    labels: Mapping[str, str | None] | None = None,
    links: Sequence[Link | None] = (),
    starts_at: datetime | None = None,
) -> AlertEvent:
    """A firing event of `detector`; empty labels and missing links are left out."""
    return AlertEvent(
        source=f"detector:{detector}",
        dedup_key=key,
        status=AlertStatus.firing,
        title=title,
        severity=severity,
        summary=summary,
        labels={k: v for k, v in (labels or {}).items() if v},
        subject=subject,
        links=tuple(link for link in links if link is not None),
        starts_at=starts_at or now,
    )


def link(title: str, url: str | None) -> Link | None:
    return Link(title, url) if url else None


@dataclass
class Collected:
    """Firing events and problems gathered while a detector runs."""

    firing: list[AlertEvent] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)

    def add_problems(self, problems: Sequence[SourceProblem]) -> None:
        self.problems += [p for p in problems if p not in self.problems]

    def findings(self) -> Findings:
        return Findings(firing=tuple(self.firing), problems=tuple(self.problems))
