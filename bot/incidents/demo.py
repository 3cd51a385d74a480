"""The demo company's incident cascade, fired through the real intake when `switchboard demo`
starts: nightly_orders fails, churn (which it feeds) drifts, and churn's serving spend jumps.
The alerts are what the detectors find in the demo company's data (the same keys, titles and
figures their scheduled runs report later, which then join these incidents); lineage makes them
one thread in data-eng's channel, not three."""

from __future__ import annotations

from collections.abc import Sequence

from bot.answers.deps import AnswerDeps
from bot.incidents.alerts import AlertEvent
from bot.incidents.detectors.base import Findings
from bot.incidents.detectors.models import DRIFT, over_threshold
from bot.incidents.detectors.pipelines import pipeline_failures
from bot.incidents.detectors.spend import spend_anomalies
from bot.incidents.service import IncidentService, IngestResult

# Upstream first: the pipeline, the model it feeds, that model's serving spend.
CASCADE = ("pipeline:nightly_orders:failed", "model:churn:drift", "spend:model:churn:anomaly")


async def demo_cascade(deps: AnswerDeps) -> list[AlertEvent]:
    """The cascade's alerts as the detectors find them at `deps.now`, upstream first; those the
    data does not show (another ops.yml, another day) are left out."""
    found: list[Findings] = [
        await pipeline_failures(deps),
        await over_threshold(DRIFT)(deps),
        await spend_anomalies(deps),
    ]
    by_key = {event.dedup_key: event for f in found for event in f.firing}
    return [by_key[key] for key in CASCADE if key in by_key]


async def fire_demo_cascade(
    service: IncidentService, deps: AnswerDeps | None
) -> Sequence[IngestResult]:
    """Ingest the cascade one alert at a time, as the detectors hand them in."""
    if deps is None:
        return []
    return [await service.ingest([event]) for event in await demo_cascade(deps)]
