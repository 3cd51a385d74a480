"""The audit log as CSV or JSON, for `switchboard audit export` and auditors' spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal

from bot.approvals.types import AuditRecord

ExportFormat = Literal["csv", "json"]
COLUMNS = ["id", "request_id", "at", "actor", "action", "surface", "state", "detail"]


def parse_since(text: str) -> datetime:
    """'2026-11-01' (midnight UTC) or an ISO timestamp (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO timestamp") from None
    if len(text) == 10:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _row(record: AuditRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "request_id": record.request_id,
        "at": record.at.astimezone(UTC).isoformat(),
        "actor": record.actor,
        "action": record.action,
        "surface": record.surface or "",
        "state": record.state.value if record.state else "",
        "detail": json.dumps(record.detail, sort_keys=True, default=str),
    }


def render(records: Sequence[AuditRecord], fmt: ExportFormat) -> str:
    if fmt == "json":
        rows = [{**_row(r), "detail": r.detail} for r in records]
        return json.dumps(rows, indent=2, default=str) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_row(r) for r in records)
    return out.getvalue()
