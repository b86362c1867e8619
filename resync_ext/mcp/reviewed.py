"""Search reviewed answers: past chat turns a reviewer approved, served as a read-only tool.

The tool reads the memory store through a *lease* (an async context manager yielding an open
``MemoryStore``), so the same function serves both surfaces: inside Jupyter the lease hands out the
extension's own open store; standalone, :class:`StandaloneMemory` opens the store on first use and
lets it go after a quiet minute or two, because an embedded Qdrant directory can be opened by one
process only and the Jupyter server must be able to take it. When another process holds it, the
search answers a clear error instead of failing the MCP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from resync_ext.memory.errors import MemoryStoreError, StoreUnavailable
from resync_ext.memory.models import Memory
from resync_ext.memory.store import MemoryStore
from resync_ext.redact import mask_obj, mask_secrets
from resync_ext.tws.injection import classify

MAX_MATCHES = 10
#: Candidates read per search: approved turns are picked from the most similar ones.
CANDIDATES = 50
TEXT_MAX = 1200
NOTE = (
    "Answers a reviewer approved, with the date they were given: history about the plan of "
    "that day, not the current plan. Check the current state with the other tools."
)

StoreLease = Callable[[], AbstractAsyncContextManager[MemoryStore]]
log = logging.getLogger("resync_ext.mcp.reviewed")


def _clip(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _screened(memory: Memory) -> bool:
    """Tell whether a remembered turn carries text addressed to an assistant (kept out)."""
    return any(classify(line) for line in memory.text.splitlines())


def _match(memory: Memory) -> dict[str, Any]:
    meta = memory.metadata
    review = meta.review
    return {
        "id": memory.id,
        "question": _clip(meta.question),
        "answer": _clip(meta.final_answer),  # a reviewer's correction, if any
        "agent": meta.agent_id,
        "answered_at": memory.created_at,
        "reviewed_by": review.by if review else None,
        "reviewed_at": review.at if review else None,
        "review_comment": review.comment if review else None,
        "similarity": round(memory.score, 3) if memory.score is not None else None,
        "evidence": [
            _clip(str(e.get("summary", "")), 240) for e in meta.evidence[:5] if e.get("summary")
        ],
    }


class ReviewedAnswers:
    """The reviewed-answer search, bound to a way of reaching the memory store."""

    def __init__(self, lease: StoreLease) -> None:
        self.lease = lease

    async def search_reviewed_answers(self, query: str, limit: int = 5) -> dict[str, Any]:
        """Search past answers that a human reviewer approved, most similar first (at most 10):
        each with the question, the answer, the agent, when it was given and reviewed, and the
        evidence it rested on. Use it to find how a similar failure was diagnosed before; it is
        history, not the current plan. Secrets are masked."""
        text = " ".join(query.split())
        if not text:
            return {"error": {"kind": "bad_request", "message": "query is empty"}}
        limit = max(1, min(limit, MAX_MATCHES))
        try:
            async with self.lease() as store:
                found = await store.search(mask_secrets(text), limit=CANDIDATES)
        except MemoryStoreError as e:
            kind = "unavailable" if isinstance(e, StoreUnavailable) else "internal"
            return {"error": {"kind": kind, "message": str(e)}}
        approved = [m for m in found if m.metadata.state == "approved"]
        shown = [m for m in approved if not _screened(m)]
        out: dict[str, Any] = {
            "matches": [_match(m) for m in shown[:limit]],
            "note": NOTE,
        }
        if withheld := len(approved) - len(shown):
            out["withheld"] = withheld
            out["withheld_note"] = (
                "approved turns whose text reads like instructions to an assistant are not shown"
            )
        masked: dict[str, Any] = mask_obj(out)
        return masked


class StandaloneMemory:
    """Lease the memory store to a standalone MCP server: opened on first use, read only, and
    closed again once no search has used it for ``idle_s`` seconds."""

    def __init__(
        self,
        *,
        data_dir: Path,
        qdrant_url: str | None = None,
        qdrant_api_key: str | None = None,
        engine: str = "edge",
        embedder: str = "onnx",
        embedder_cache: Path | None = None,
        idle_s: float = 120.0,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.qdrant_url = qdrant_url
        self.qdrant_api_key = qdrant_api_key
        self.engine = engine
        self.embedder = embedder
        self.embedder_cache = embedder_cache
        self.idle_s = idle_s
        self._store: MemoryStore | None = None
        self._users = 0
        self._lock = asyncio.Lock()
        self._closer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[MemoryStore]:
        """Yield the open store (opening it if needed) for one search."""
        async with self._lock:
            if self._closer is not None:
                self._closer.cancel()
                self._closer = None
            if self._store is None:
                self._store = await self._open()
            store = self._store
            self._users += 1
        try:
            yield store
        finally:
            self._users -= 1
            if self._users == 0:
                self._closer = asyncio.create_task(self._close_later(), name="resync-mcp-memory")

    async def _open(self) -> MemoryStore:
        from resync_ext.memory import create_memory_store

        memory_dir = self.data_dir / "memory"
        if not self.qdrant_url and not memory_dir.is_dir():
            # Read only: never create an empty store where the user expected theirs.
            raise StoreUnavailable(
                f"no memory store at {memory_dir}; set RESYNC_DATA_DIR to the Resync server's "
                "data directory"
            )
        store = create_memory_store(
            data_dir=self.data_dir,
            qdrant_url=self.qdrant_url,
            qdrant_api_key=self.qdrant_api_key,
            engine=self.engine,
            embedder=self.embedder,
            embedder_cache=self.embedder_cache,
            log=log,
        )
        if not self.qdrant_url and self.engine == "edge":
            await asyncio.to_thread(self._check_unlocked, Path(getattr(store, "location", "")))
        await store.open()
        return store

    @staticmethod
    def _check_unlocked(shard: Path) -> None:
        """Fail fast (before the embedder loads, seconds) when another process holds the shard."""
        from resync_ext.memory import edge_maintenance

        if (shard / edge_maintenance.CONFIG_FILE).exists():
            edge_maintenance.point_counts(shard)  # raises StoreLocked when it is held

    async def _close_later(self) -> None:
        await asyncio.sleep(self.idle_s)
        async with self._lock:
            if self._users == 0:
                await self._release()

    async def _release(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()

    async def aclose(self) -> None:
        """Close the store now (at shutdown); never raises."""
        if self._closer is not None:
            self._closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer
            self._closer = None
        with contextlib.suppress(Exception):
            await self._release()
