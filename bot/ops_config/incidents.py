"""The `incidents:` block of ops.yml: routing alerts to teams and tuning the internal detectors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from bot.ops_config.common import Channel, Duration, EnvVarName, HttpUrl, Slug, StrictModel

Severity = Literal["critical", "error", "warning", "info"]
AlertSource = Literal["alertmanager", "mlflow", "generic", "detector", "deadman"]


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
    group_by: Literal["fingerprint", "alertmanager_group"] = Field(
        "fingerprint",
        description="alertmanager_group: one incident per Alertmanager groupKey (a storm of "
        "fingerprints in one group is one thread listing them)",
    )


class SpendAnomalyDetector(StrictModel):
    enabled: bool = True
    threshold_sigma: float = Field(
        3.0, gt=0, description="Yesterday's spend this many σ above the rolling mean"
    )
    baseline_days: int = Field(28, ge=7, le=80, description="Days the rolling mean and σ cover")
    day_over_day_pct: float = Field(
        100, gt=0, description="Yesterday's spend up this many percent on the day before"
    )
    min_increase: float = Field(
        100, ge=0, description="Smaller increases (workspace currency) never count as anomalies"
    )


class ModelDriftDetector(StrictModel):
    enabled: bool = True
    threshold: float = Field(0.3, gt=0, description="Drift score above this opens an incident")


class ModelLatencyDetector(StrictModel):
    enabled: bool = True
    p95_ms: float = Field(500, gt=0, description="p95 latency above this (ms) opens an incident")


class ModelErrorRateDetector(StrictModel):
    enabled: bool = True
    threshold: float = Field(
        0.05, gt=0, le=1, description="Fraction of requests failing above which it opens one"
    )


class PipelineSlaDetector(StrictModel):
    enabled: bool = True
    default: Duration | None = Field(
        None,
        description="SLA for scheduled pipelines that have none (here or in their orchestrator); "
        "without one a run is due before the next slot",
    )
    pipelines: dict[str, Duration] = Field(
        default_factory=dict,
        description="pipeline -> SLA after its scheduled slot; overrides the orchestrator's",
    )


class Detectors(StrictModel):
    every: Duration = Field(timedelta(minutes=5), description="How often each detector runs")
    pipeline_failure: bool = Field(True, description="A failed pipeline run opens an incident")
    pipeline_sla: PipelineSlaDetector = Field(default_factory=PipelineSlaDetector)
    budget_breach: bool = Field(
        True, description="A team's month-end spend forecast reaching its budget"
    )
    spend_anomaly: SpendAnomalyDetector = Field(default_factory=SpendAnomalyDetector)
    model_drift: ModelDriftDetector = Field(default_factory=ModelDriftDetector)
    model_latency: ModelLatencyDetector = Field(default_factory=ModelLatencyDetector)
    model_error_rate: ModelErrorRateDetector = Field(default_factory=ModelErrorRateDetector)
    deadman_grace: Duration = Field(
        timedelta(minutes=10),
        description="How long past its interval a heartbeat or detector may be silent",
    )


_HEARTBEAT_SOURCE = re.compile(r"alertmanager|generic:[a-z0-9][a-z0-9_-]{0,62}")


def _heartbeat_source(value: str) -> str:
    if not _HEARTBEAT_SOURCE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an alert source: write `alertmanager` or `generic:<name>` "
            "(the <name> of POST /webhooks/generic/<name>)"
        )
    return value


class Heartbeat(StrictModel):
    """A source that promises to send something at least every `interval` (dead-man's switch)."""

    source: Annotated[str, AfterValidator(_heartbeat_source)] = Field(
        description="alertmanager or generic:<name>"
    )
    alert: str | None = Field(
        None,
        min_length=1,
        description="Only this alert counts (alertname, e.g. Watchdog); omit: any event counts",
    )
    interval: Duration = Field(description="It sends at least this often, e.g. 5m")
    grace: Duration | None = Field(None, description="Defaults to detectors.deadman_grace")

    def counts(self, *, source: str, alert: str | None) -> bool:
        return source == self.source and (self.alert is None or alert == self.alert)


class AlertmanagerAuth(StrictModel):
    """How Alertmanager authenticates (its receiver's http_config): a bearer token or basic auth."""

    bearer_env: EnvVarName | None = Field(
        None, description="Env var holding the token of http_config.authorization (Bearer)"
    )
    username_env: EnvVarName | None = Field(None, description="Env var: basic_auth username")
    password_env: EnvVarName | None = Field(None, description="Env var: basic_auth password")

    @model_validator(mode="after")
    def _one_way(self) -> AlertmanagerAuth:
        basic = (self.username_env, self.password_env)
        if (basic[0] is None) != (basic[1] is None):
            raise ValueError("username_env and password_env go together: set both or neither")
        if self.bearer_env is None and basic[0] is None:
            raise ValueError("auth needs bearer_env, or username_env and password_env")
        return self


class AlertmanagerIntake(StrictModel):
    auth: AlertmanagerAuth | None = Field(
        None, description="Required for POST /webhooks/alertmanager (unset: it answers 503)"
    )
    api_url: HttpUrl | None = Field(
        None, description="Alertmanager's base URL, for Silence buttons (its API v2)"
    )
    token_env: EnvVarName | None = Field(None, description="Env var: bearer token for its API")
    timeout: float = Field(5, gt=0, le=60, description="Seconds per API call")


class GenericSource(StrictModel):
    secret_env: EnvVarName = Field(description="Env var holding the HMAC-SHA256 signing secret")
    team: Slug | None = Field(None, description="Team for its alerts when no label routes them")


class Incidents(StrictModel):
    routes: list[IncidentRoute] = Field(
        default_factory=list, description="Checked in order; the first matching route wins"
    )
    default_team: Slug | None = Field(
        None, description="Team for alerts no route matches and whose owner is unknown"
    )
    detectors: Detectors = Field(default_factory=Detectors)
    fallback_channel: Channel | None = Field(
        None,
        description="Channel for alerts no route, label or owner assigns to a team (the root "
        "says why); defaults to default_team's channel",
    )
    reopen_window: Duration = Field(
        timedelta(hours=1), description="A re-fire this soon after resolving reopens the thread"
    )
    coalesce: Duration = Field(
        timedelta(seconds=30),
        description="At most one root update and one thread reply per incident this often",
    )
    alertmanager: AlertmanagerIntake = Field(default_factory=AlertmanagerIntake)
    generic: dict[Slug, GenericSource] = Field(
        default_factory=dict, description="POST /webhooks/generic/<source>: source -> its secret"
    )
    heartbeats: list[Heartbeat] = Field(
        default_factory=list,
        description="Sources whose silence opens an incident (dead-man's switch)",
    )

    @model_validator(mode="after")
    def _one_heartbeat_per_source(self) -> Incidents:
        seen = [h.source for h in self.heartbeats]
        twice = sorted({s for s in seen if seen.count(s) > 1})
        if twice:
            raise ValueError(f"heartbeats: {', '.join(twice)} declared more than once")
        return self

    def heartbeat_for(self, *, source: str, alert: str | None = None) -> Heartbeat | None:
        """The heartbeat an event from `source` (with alertname `alert`) keeps alive, if any."""
        return next((h for h in self.heartbeats if h.counts(source=source, alert=alert)), None)

    def route_for(self, *, source: str, labels: Mapping[str, str]) -> IncidentRoute | None:
        for route in self.routes:
            if route.match.covers(source=source, labels=labels):
                return route
        return None
