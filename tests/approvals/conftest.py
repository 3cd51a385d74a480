"""Approval engine fixtures: ops.example.yml, a movable clock and an executor that counts calls."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.approvals.service import ApprovalService
from bot.ops_config import OpsConfig, load_ops_config

EXAMPLE = Path(__file__).resolve().parents[2] / "ops.example.yml"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# People of ops.example.yml
ADMIN = "U0ADMIN01"
ML = ["U0ML0EVA", "U0ML0FARID", "U0ML0GRETA", "U0ML0HIRO", "U0ML0INES"]
AN = ["U0AN0JONAS", "U0AN0KEMI", "U0AN0LUCIA"]
FI = ["U0FI0MARTA", "U0FI0NOAH"]
DE = ["U0DE0ANNA", "U0DE0BORIS", "U0DE0CHIOMA", "U0DE0DMITRI"]


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class CountingExecutor:
    """Counts calls (thread-safe); fails while `failing` holds a message."""

    failing: str | None = None
    calls: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, what: str, args: dict) -> None:
        with self.lock:
            self.calls.append((what, args))
        if self.failing:
            raise RuntimeError(self.failing)

    async def set_alias(
        self, *, model: str, alias: str, version: str, expected: str | None = None
    ) -> str:
        self._call(
            "set_alias", {"model": model, "alias": alias, "version": version, "expected": expected}
        )
        return f"{alias} -> {version}"

    async def raise_budget(
        self, *, team: str, amount: Decimal, by: str, reason: str | None, request_id: int
    ) -> str:
        self._call("raise_budget", {"team": team, "amount": amount, "request_id": request_id})
        return f"{team} +{amount}"


@pytest.fixture(scope="session")
def ops_config() -> OpsConfig:
    return load_ops_config(EXAMPLE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def executor() -> CountingExecutor:
    return CountingExecutor()


@pytest.fixture
def service(
    db_engine: Engine, ops_config: OpsConfig, executor: CountingExecutor, clock: Clock
) -> ApprovalService:
    return ApprovalService(engine=db_engine, config=ops_config, executor=executor, clock=clock)
