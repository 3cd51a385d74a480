"""What every alert source hands to incidents: one `AlertEvent` per alert, whatever sent it.

Alertmanager and generic webhooks, the internal detectors and the dead-man's switch all turn
what they saw into `AlertEvent`s and give them to an `AlertSink` (the incident service's
`ingest`). The sink deduplicates by `dedup_key`, routes, and opens, updates or resolves the
incident; sources know nothing about threads, Slack or the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class AlertStatus(StrEnum):
    firing = "firing"
    resolved = "resolved"


class Severity(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"


class SubjectKind(StrEnum):
    """What an alert is about, in the terms of the lineage (pipeline feeds model drives spend)."""

    pipeline = "pipeline"
    model = "model"
    service = "service"  # a cloud service's spend, e.g. a model's serving
    team = "team"  # a team's spend or budget
    source = "source"  # an alert source itself (the dead-man's switch)


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class AlertEvent:
    """One alert as seen by one source at one moment.

    `dedup_key` is the incident key: Alertmanager's fingerprint (or its groupKey), the generic
    payload's dedup key, or a detector's key such as `pipeline:nightly_orders:failed`. Two
    events with the same key and an open incident belong to that incident.
    """

    source: str  # "alertmanager", "generic:<name>", "detector:<name>", "deadman"
    dedup_key: str
    status: AlertStatus
    title: str
    severity: Severity = Severity.warning
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    subject: Subject | None = None  # for routing by ownership and for cascade correlation
    links: Sequence[Link] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    instance: str | None = None  # one alert among several in an incident (e.g. a fingerprint)


class AlertSink(Protocol):
    """Takes alerts in; accepted means committed to the database."""

    async def ingest(self, events: Sequence[AlertEvent]) -> object: ...
