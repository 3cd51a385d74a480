"""Heartbeats arriving through the webhooks: the dead-man's switch hears from a source here.

An event that a declared heartbeat counts (`incidents.heartbeats` in ops.yml) records a sign of
life for its source. A heartbeat naming one alert (Alertmanager's always-firing `Watchdog`) is
only that: it never becomes an incident. A heartbeat without `alert` counts every event of its
source, and those events are incidents as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.incidents.alerts import AlertEvent
from bot.incidents.detectors.state import record_heartbeat
from bot.services import Services


async def heard(services: Services, source: str, events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """Record the heartbeats among `events` from `source` (alertmanager, generic:<name>) and
    return the events that remain alerts."""
    config = services.ops_config
    if config is None or not config.incidents.heartbeats:
        return list(events)
    alerts: list[AlertEvent] = []
    beat = False
    for event in events:
        heartbeat = config.incidents.heartbeat_for(
            source=source, alert=event.labels.get("alertname")
        )
        if heartbeat is None:
            alerts.append(event)
            continue
        beat = True
        if heartbeat.alert is None:
            alerts.append(event)
    if beat:
        await asyncio.to_thread(record_heartbeat, services.engine, source, services.clock())
    return alerts
