"""Timestamps from peers' JSON, parsed the same way by every adapter.

Python's own `datetime.fromisoformat` (3.11+) reads every ISO 8601 form the peers send ("Z",
offsets, fractions, a bare date). pydantic's datetime parser was weighed and not used: it reads
a numeric string such as "1700000000" as Unix seconds and rejects a bare date, neither of which
a peer's ISO field should mean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def aware(value: Any) -> datetime | None:
    """`value` (an ISO 8601 string; no zone is read as UTC) as an aware datetime; None for a
    missing or unreadable value, and for anything but a string."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
