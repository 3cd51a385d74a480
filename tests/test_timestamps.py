"""The one parser of peers' ISO timestamps (Airflow and Prefect adapters)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.timestamps import aware


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (
            "2026-01-02T03:04:05.123456+02:00",
            datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),  # no zone: UTC
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
    ],
)
def test_iso_forms_become_aware_datetimes(text, expected):
    found = aware(text)
    assert found == expected and found is not None and found.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", [None, "", "garbage", "1700000000", 1700000000, 1.5])
def test_what_is_not_an_iso_string_is_none(value):
    assert aware(value) is None
