"""Gather keys that arrive in a burst and handle them together, once, a little later."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

_log = logging.getLogger(__name__)


class Debouncer(Generic[K]):
    """Call ``flush(keys)`` ``delay_s`` after the first of a burst of ``add(key)`` calls.

    Keys added while a flush runs are handled by the next one, right after it. ``flush`` runs as
    a task on the running loop; whatever it raises is logged, never raised into the caller.
    """

    def __init__(
        self,
        delay_s: float,
        flush: Callable[[set[K]], Awaitable[None]],
        *,
        name: str,
        log: logging.Logger | None = None,
    ) -> None:
        self.delay_s = delay_s
        self.flush = flush
        self.name = name
        self.log = log or _log
        self._pending: set[K] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> frozenset[K]:
        """The keys waiting for the next flush."""
        return frozenset(self._pending)

    def add(self, key: K) -> None:
        """Handle ``key`` with the others of its burst (must be called on the loop)."""
        self._pending.add(key)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        while self._pending:
            await asyncio.sleep(self.delay_s)
            keys, self._pending = self._pending, set()
            try:
                await self.flush(keys)
            except Exception:
                self.log.exception("Resync: %s failed", self.name)

    def cancel(self) -> None:
        """Stop waiting (the keys pending are dropped)."""
        self._pending.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()
