"""users.info zone lookups are cached per user: an hour when found, a minute when not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bot.surfaces import user_zone


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingClient:
    """users.info answering `tz` for known users, counting calls."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones
        self.calls: list[str] = []

    async def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls.append(user)
        if user not in self.zones:
            raise LookupError("user_not_found")
        return {"user": {"tz": self.zones[user]}}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(user_zone, "clock", fake)
    user_zone.forget_zones()
    yield fake
    user_zone.forget_zones()


def ask(client: CountingClient, user: str) -> str | None:
    return asyncio.run(user_zone.user_timezone(client, user))  # type: ignore[arg-type]


def test_a_found_zone_is_kept_for_an_hour(clock: Clock) -> None:
    client = CountingClient({"U1": "Europe/Berlin"})
    assert ask(client, "U1") == "Europe/Berlin"
    clock.now += user_zone.ZONE_TTL - 1
    assert ask(client, "U1") == "Europe/Berlin"
    assert client.calls == ["U1"]
    clock.now += 2
    assert ask(client, "U1") == "Europe/Berlin"
    assert client.calls == ["U1", "U1"]


def test_a_failed_lookup_is_retried_after_a_minute_not_an_hour(clock: Clock) -> None:
    client = CountingClient({})
    assert ask(client, "U2") is None
    clock.now += user_zone.MISS_TTL - 1
    assert ask(client, "U2") is None
    assert client.calls == ["U2"]
    client.zones["U2"] = "Asia/Tokyo"
    clock.now += 2
    assert ask(client, "U2") == "Asia/Tokyo"
    assert client.calls == ["U2", "U2"]
