"""The interface every memory store implements; callers and fakes code against it."""

from __future__ import annotations

import builtins
from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable

from resync_ext.memory.models import Memory


@runtime_checkable
class MemoryStore(Protocol):
    """Remembered chat turns with a review state; every method is async and never blocks the loop.

    ``search`` excludes ``rejected`` and ``rejected_by_auditor`` unless asked, ranks ``approved``
    memories above equally similar others, and sets ``score`` on each result. ``set_state`` is an
    atomic compare-and-set: with ``expect`` it raises ``StateConflict`` when the memory's current
    state is not among them, so the auditor and reviewers never process a memory twice.
    """

    async def open(self) -> None:
        """Load the embedder and open the engine (slow: seconds)."""
        ...

    async def close(self) -> None:
        """Flush and release the engine; never raises."""
        ...

    async def add_turn(
        self,
        *,
        agent_id: str,
        question: str,
        answer: str,
        evidence: list[dict[str, Any]],
        session: str | None = None,
        state: str = "new",
        conversation: str | None = None,
        previous: str | None = None,
    ) -> Memory:
        """Remember one chat turn, secrets masked, and return it (``conversation``: the chat it
        belongs to; ``previous``: the memory id of the turn before it in that chat)."""
        ...

    async def search(
        self,
        query: str,
        *,
        agent_id: str | None = None,
        limit: int = 5,
        include_rejected: bool = False,
    ) -> list[Memory]:
        """Return the memories most similar to ``query``, best first, each with ``score``."""
        ...

    async def get(self, memory_id: str) -> Memory:
        """Return one memory or raise ``MemoryNotFound``."""
        ...

    async def list(
        self,
        *,
        state: str | None = None,
        agent_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """Return memories newest first, optionally filtered by state and agent."""
        ...

    async def set_state(
        self,
        memory_id: str,
        state: str,
        *,
        expect: Collection[str] | None = None,
        audit: dict[str, Any] | None = None,
        review: dict[str, Any] | None = None,
    ) -> Memory:
        """Move a memory to ``state`` (with the audit or review that decided it) atomically."""
        ...

    async def delete(self, memory_id: str) -> None:
        """Forget a memory or raise ``MemoryNotFound``."""
        ...

    async def history(self, memory_id: str) -> builtins.list[dict[str, Any]]:
        """Return what happened to a memory, oldest first."""
        ...

    async def counts(self) -> dict[str, int]:
        """Return the number of memories in each state (every state present, zeros included)."""
        ...

    async def ping(self) -> dict[str, Any]:
        """Check the store for ``/health``: ``{"ok", "detail", "latency_ms"}``."""
        ...
