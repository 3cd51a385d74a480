"""The `incidents:` block of ops.yml: routing alerts to teams and tuning the internal detectors."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field, model_validator

from bot.ops_config.common import Slug, StrictModel

Severity = Literal["critical", "warning", "info"]
AlertSource = Literal["alertmanager", "mlflow", "generic", "detector"]


class RouteMatch(StrictModel):
    """All given conditions must hold. Label values may be globs ('ml-*')."""

    source: AlertSource | None = Field(None, description="Where the alert came from")
    labels: dict[str, str] = Field(default_factory=dict, description="Label name -> value/glob")

    @model_validator(mode="after")
    def _not_empty(self) -> RouteMatch:
        if self.source is None and not self.labels:
            raise ValueError(
                "match needs `source` or `labels`; for a catch-all use incidents.default_team"
            )
        return self

    def covers(self, *, source: str, labels: Mapping[str, str]) -> bool:
        if self.source is not None and self.source != source:
            return False
        return all(
            key in labels and fnmatchcase(str(labels[key]), pattern)
            for key, pattern in self.labels.items()
        )


class IncidentRoute(StrictModel):
    match: RouteMatch
    team: Slug = Field(description="Team whose channel gets the incident thread")
    severity: Severity = Field("warning", description="Used when the alert carries no severity")


class SpendAnomalyDetector(StrictModel):
    enabled: bool = True
    threshold_sigma: float = Field(3.0, gt=0, description="Daily spend this many σ above mean")


class ModelDriftDetector(StrictModel):
    enabled: bool = True
    threshold: float = Field(0.3, gt=0, description="Drift score above this opens an incident")


class ModelLatencyDetector(StrictModel):
    enabled: bool = True
    p95_ms: float = Field(500, gt=0, description="p95 latency above this (ms) opens an incident")


class Detectors(StrictModel):
    pipeline_failure: bool = Field(True, description="A failed pipeline run opens an incident")
    budget_breach: bool = Field(True, description="Crossing a budget alert_at threshold")
    spend_anomaly: SpendAnomalyDetector = Field(default_factory=SpendAnomalyDetector)
    model_drift: ModelDriftDetector = Field(default_factory=ModelDriftDetector)
    model_latency: ModelLatencyDetector = Field(default_factory=ModelLatencyDetector)


class Incidents(StrictModel):
    routes: list[IncidentRoute] = Field(
        default_factory=list, description="Checked in order; the first matching route wins"
    )
    default_team: Slug | None = Field(
        None, description="Team for alerts no route matches and whose owner is unknown"
    )
    detectors: Detectors = Field(default_factory=Detectors)

    def route_for(self, *, source: str, labels: Mapping[str, str]) -> IncidentRoute | None:
        for route in self.routes:
            if route.match.covers(source=source, labels=labels):
                return route
        return None
