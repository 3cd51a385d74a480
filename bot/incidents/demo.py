"""The demo company's incident cascade, fired through the real intake when `switchboard demo`
starts: nightly_orders fails, churn (which it feeds) drifts, and churn's serving spend jumps.
Lineage makes it one thread in data-eng's channel, not three."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.alerts import AlertEvent, AlertStatus, Link, Severity, Subject, SubjectKind
from bot.incidents.service import IncidentService, IngestResult

FIRING = AlertStatus.firing


def demo_cascade(now: datetime) -> list[AlertEvent]:
    """The three alerts, oldest first (each with a fixed start: firing them again changes
    nothing)."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [
        AlertEvent(
            source="detector:pipeline_failure",
            dedup_key="pipeline:nightly_orders:failed",
            status=FIRING,
            title="nightly_orders failed",
            severity=Severity.error,
            summary="Task load_orders exited 1 after 3 retries: upstream orders export is empty.",
            subject=Subject(SubjectKind.pipeline, "nightly_orders"),
            links=(Link("Run log", "http://127.0.0.1:8080/dags/nightly_orders/grid"),),
            starts_at=hour - timedelta(hours=2),
        ),
        AlertEvent(
            source="detector:model_drift",
            dedup_key="model:churn:drift",
            status=FIRING,
            title="churn drift 0.41 (threshold 0.25)",
            severity=Severity.warning,
            summary="Feature drift on days_since_last_order: the feature table was not refreshed.",
            subject=Subject(SubjectKind.model, "churn"),
            starts_at=hour - timedelta(hours=1, minutes=20),
        ),
        AlertEvent(
            source="detector:spend_anomaly",
            dedup_key="spend:churn:anomaly",
            status=FIRING,
            title="churn serving spend +64% day over day",
            severity=Severity.warning,
            summary="Serving retried on stale features: $412 today against $251 yesterday.",
            subject=Subject(SubjectKind.service, "churn"),
            starts_at=hour - timedelta(minutes=40),
        ),
    ]


async def fire_demo_cascade(service: IncidentService, now: datetime) -> list[IngestResult]:
    """Ingest the cascade one alert at a time, as detectors would hand them in."""
    return [await service.ingest([event]) for event in demo_cascade(now)]
