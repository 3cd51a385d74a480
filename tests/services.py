"""Services for tests that build their own (the app and the answer tests use build_services)."""

from __future__ import annotations

from typing import Any

from bot.services import Services
from bot.settings import Settings
from bot.store.db import make_engine


def bare_services(**members: Any) -> Services:
    """Services with only `members` set: no ops.yml unless given, an empty in-memory store
    (nothing here reads a table), nothing sent unless an outbox is given."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return Services(settings=settings, engine=make_engine("sqlite://"), **members)
