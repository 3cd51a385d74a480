"""Slack's Web API rate limits, as the sandbox and the tests' fake Slack can enforce them: about
one chat.postMessage per second per channel, and per-minute tiers for other methods (files.*
are Tier 4, ~100/min). Over a limit the answer is HTTP 429 with Retry-After, as Slack's is.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Seconds between two calls to the same channel.
PER_CHANNEL = {"chat.postMessage": 1.0}
# Calls per minute, workspace-wide (Slack's tiers: 2 ≈ 20, 3 ≈ 50, 4 ≈ 100).
PER_MINUTE = {
    "files.getUploadURLExternal": 100,
    "files.completeUploadExternal": 100,
    "chat.update": 50,
}


@dataclass
class RateLimits:
    """Which calls are over the limit; `check` records the calls it lets through."""

    per_channel: dict[str, float] = field(default_factory=lambda: dict(PER_CHANNEL))
    per_minute: dict[str, int] = field(default_factory=lambda: dict(PER_MINUTE))
    clock: Callable[[], float] = time.monotonic
    limited: int = 0  # calls answered 429
    _last: dict[tuple[str, str], float] = field(default_factory=dict)
    _window: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, method: str, params: dict[str, Any]) -> int | None:
        """Retry-After seconds if this call is over a limit (not carried out), else None."""
        with self._lock:
            now = self.clock()
            wait = self._channel_wait(method, params, now)
            if wait is None:
                wait = self._tier_wait(method, now)
            if wait is not None:
                self.limited += 1
                return max(1, math.ceil(wait))
            if method in self.per_channel:
                self._last[(method, str(params.get("channel") or ""))] = now
            if method in self.per_minute:
                self._window.setdefault(method, deque()).append(now)
            return None

    def _channel_wait(self, method: str, params: dict[str, Any], now: float) -> float | None:
        interval = self.per_channel.get(method)
        last = self._last.get((method, str(params.get("channel") or "")))
        if interval is None or last is None or now - last >= interval:
            return None
        return interval - (now - last)

    def _tier_wait(self, method: str, now: float) -> float | None:
        limit = self.per_minute.get(method)
        if limit is None:
            return None
        window = self._window.setdefault(method, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        return None if len(window) < limit else 60.0 - (now - window[0])
