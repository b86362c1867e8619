"""A server-wide cap on chat turns running at once; the others wait their turn, in order.

On two cores the embedded model answers one call at a time: ten open turns do not answer faster
than two, they only make every one of them slower to show anything. A turn over the cap waits
here, on the event loop (holding no thread), and its client is told its place in the queue
(a ``queued`` frame, sent again each time it moves up), then starts when a turn ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

OnPosition = Callable[[int], Awaitable[None]]


class _Waiter:
    def __init__(self) -> None:
        self.granted = False
        self.moved = asyncio.Event()


class TurnSlots:
    """At most ``limit`` turns at once; the rest wait first come, first served."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the cap on concurrent turns must be at least 1, not {limit}")
        self.limit = limit
        self.running = 0
        self._queue: list[_Waiter] = []

    @property
    def waiting(self) -> int:
        """Turns waiting for a place now."""
        return len(self._queue)

    @contextlib.asynccontextmanager
    async def slot(self, on_position: OnPosition) -> AsyncIterator[None]:
        """Hold a place for the block; while waiting, tell ``on_position`` the queue position
        (1: next to start) when it is first known and each time it changes."""
        if self.running < self.limit and not self._queue:
            self.running += 1
        else:
            await self._wait(on_position)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, on_position: OnPosition) -> None:
        waiter = _Waiter()
        self._queue.append(waiter)
        told = 0
        try:
            while not waiter.granted:
                position = self._queue.index(waiter) + 1
                if position != told:
                    told = position
                    await on_position(position)
                if waiter.granted:
                    break
                waiter.moved.clear()
                await waiter.moved.wait()
        except BaseException:
            if waiter.granted:
                self._release()  # given a place just as it was cancelled: pass it on
            else:
                self._queue.remove(waiter)
                self._tell_all()
            raise

    def _release(self) -> None:
        self.running -= 1
        if self._queue and self.running < self.limit:
            nxt = self._queue.pop(0)
            nxt.granted = True
            self.running += 1
            nxt.moved.set()
        self._tell_all()

    def _tell_all(self) -> None:
        """Wake every waiter: each recomputes its position and says so when it changed."""
        for waiter in self._queue:
            waiter.moved.set()
