"""A short-lived async cache in front of adapters: one upstream call per key per TTL.

Why: one Slack answer fans out to several sources, a digest asks the same questions for every
team, and some peers bill per request (AWS Cost Explorer). Concurrent askers of the same key
share one in-flight load (single flight); failures are never cached, so a recovered peer is
seen on the very next call.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from integrations.models import ProbeResult

T = TypeVar("T")

# Methods of PipelineSource, ModelRegistry, MetricsSource and CostSource that only read.
READ_METHODS = (
    "list_pipelines",
    "recent_runs",
    "runs_since",
    "list_models",
    "get_model",
    "versions",
    "model_health",
    "spend",
    "coverage",
)


class TTLCache(Generic[T]):
    """LRU-bounded map of key -> value that expires `ttl` seconds after it was loaded."""

    def __init__(
        self, ttl: float, maxsize: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0 or maxsize <= 0:
            raise ValueError("ttl and maxsize must be positive")
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}
        self._generation = 0  # bumped by invalidation, so a load started before it is not kept

    def __len__(self) -> int:
        return len(self._entries)

    async def get_or_load(self, key: Hashable, loader: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self._entries.move_to_end(key)
                return entry[1]
            del self._entries[key]
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._load(key, loader, self._generation))
            # Retrieve the exception even when every waiter was cancelled (no warning spam).
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._inflight[key] = future
        # shield: one caller giving up must not cancel the load the other callers wait for.
        return await asyncio.shield(future)

    async def _load(self, key: Hashable, loader: Callable[[], Awaitable[T]], generation: int) -> T:
        try:
            value = await loader()
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]
        if generation == self._generation:
            self._entries[key] = (self._clock() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def invalidate(self, key: Hashable) -> None:
        self.invalidate_where(lambda k: k == key)

    def invalidate_where(self, predicate: Callable[[Hashable], bool]) -> None:
        """Drop matching entries and forget matching in-flight loads (their results are stale)."""
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]
        for key in [k for k in self._inflight if predicate(k)]:
            del self._inflight[key]
        self._generation += 1

    def clear(self) -> None:
        self.invalidate_where(lambda _k: True)


class CachedSource:
    """Base of the wrappers `cached_source` builds; holds the adapter and its cache."""

    def __init__(self, inner: Any, cache: TTLCache[Any]) -> None:
        self.inner = inner
        self.cache = cache
        self.name: str = inner.name

    async def probe(self) -> ProbeResult:
        result: ProbeResult = await self.inner.probe()  # the peer now, never a cached answer
        return result

    async def _cached(self, method: str, *args: Any, **kwargs: Any) -> Any:
        bound = getattr(self.inner, method)
        try:
            call = inspect.signature(bound).bind(*args, **kwargs)
            call.apply_defaults()
            key: Hashable = (method, *call.args, *sorted(call.kwargs.items()))
        except TypeError:  # let the adapter raise its own error for a bad call
            return await bound(*args, **kwargs)
        value = await self.cache.get_or_load(key, lambda: bound(*args, **kwargs))
        # Callers may sort or append; they must not change what the next caller gets.
        return list(value) if isinstance(value, list) else value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r}, ttl={self.cache.ttl})"


def _read_method(method: str) -> Callable[..., Awaitable[Any]]:
    async def read(self: CachedSource, *args: Any, **kwargs: Any) -> Any:
        return await self._cached(method, *args, **kwargs)

    read.__name__ = method
    return read


async def _set_alias(self: CachedSource, name: str, alias: str, version: str) -> None:
    try:
        await self.inner.set_alias(name, alias, version)
    finally:
        # Even a failed write may have landed; the next read must ask the registry.
        self.cache.invalidate_where(
            lambda key: (
                isinstance(key, tuple)
                and (
                    key[0] == "list_models"
                    or (key[0] in ("get_model", "versions") and key[1:2] == (name,))
                )
            )
        )


def cached_source(adapter: Any, ttl: float, *, maxsize: int = 1024) -> Any:
    """Wrap an adapter so its reads are cached for `ttl` seconds.

    The wrapper has exactly the methods the adapter has, so it satisfies the same
    runtime-checkable Protocols and no others. `probe` and `set_alias` always reach the peer;
    `set_alias` also drops that model's cached entries and the model list.
    """
    namespace: dict[str, Any] = {
        method: _read_method(method) for method in READ_METHODS if hasattr(adapter, method)
    }
    if hasattr(adapter, "set_alias"):
        namespace["set_alias"] = _set_alias
    # Methods live on the class (not via __getattr__) because Protocol isinstance checks on
    # Python 3.12+ look attributes up statically.
    cls = type(f"Cached{type(adapter).__name__}", (CachedSource,), namespace)
    return cls(adapter, TTLCache(ttl, maxsize=maxsize))
