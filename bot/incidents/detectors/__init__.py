"""Internal detectors and the dead-man's switch: scheduled checks of the sources that turn what
they find into `AlertEvent`s for the incident sink, only when something changes."""

from bot.incidents.detectors.base import Detector, Findings
from bot.incidents.detectors.runner import (
    DetectorRunner,
    build_detectors,
    check_deadman,
    watches,
)
from bot.incidents.detectors.state import record_heartbeat

__all__ = [
    "Detector",
    "DetectorRunner",
    "Findings",
    "build_detectors",
    "check_deadman",
    "record_heartbeat",
    "watches",
]
