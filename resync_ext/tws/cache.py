"""A bounded TTL cache (LRU) whose loads are coalesced: one in-flight request per key."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass
class CacheStats:
    """Count what the cache did (exposed for metrics and benchmarks)."""

    hits: int = 0
    misses: int = 0
    coalesced: int = 0
    evictions: int = 0


class TTLCache:
    """Keep answers for a per-call TTL, evict least recently used past ``max_entries``.

    ``get_or_load`` runs the loader once for concurrent callers of the same key (single-flight):
    the first caller starts it as a task and everyone awaits that task. Failures are not cached.
    """

    def __init__(
        self, max_entries: int = 512, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Task[Any]] = {}
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """Return ``(True, value)`` for a fresh entry, else ``(False, None)``."""
        entry = self._data.get(key)
        if entry is None:
            return False, None
        expires, value = entry
        if expires <= self._clock():
            del self._data[key]
            return False, None
        self._data.move_to_end(key)
        return True, value

    def put(self, key: Hashable, value: Any, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (a ttl of 0 or less stores nothing)."""
        if ttl <= 0:
            return
        self._data[key] = (self._clock() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)
            self.stats.evictions += 1

    def clear(self) -> None:
        """Drop every entry (in-flight loads still finish)."""
        self._data.clear()

    async def get_or_load(
        self,
        key: Hashable,
        loader: Callable[[], Awaitable[Any]],
        ttl: float,
        *,
        fresh: bool = False,
    ) -> Any:
        """Return the cached value or load it once for all concurrent callers.

        ``fresh=True`` skips the cached value and any in-flight load, and refreshes the entry.
        """
        if not fresh:
            found, value = self.get(key)
            if found:
                self.stats.hits += 1
                return value
            task = self._inflight.get(key)
            if task is not None:
                self.stats.coalesced += 1
                # shield: a caller that gives up must not cancel the load the others wait on
                return await asyncio.shield(task)
        self.stats.misses += 1
        task = asyncio.ensure_future(loader())
        if not fresh:
            self._inflight[key] = task
        task.add_done_callback(lambda t: self._settle(key, t, ttl, fresh))
        return await asyncio.shield(task)

    def _settle(self, key: Hashable, task: asyncio.Task[Any], ttl: float, fresh: bool) -> None:
        if not fresh and self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled():
            return
        if task.exception() is None:  # also marks the exception as retrieved
            self.put(key, task.result(), ttl)
