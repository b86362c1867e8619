"""The memory store over Mem0: every chat turn remembered, searchable, with a review state.

Mem0 is synchronous, and loading it (torch, the embedder) takes seconds, so every call runs on the
store's own two worker threads, never on the event loop. Turns are stored verbatim (``infer=False``)
with the record's fields as Mem0 metadata, each found by the vector of its whole text (a chat
turn's is written in the background: see ``_add_sync``); with ``infer=True`` Mem0 asks the
workbench's LM to extract facts, each remembered with the turn's fields. State changes go straight
to the vector store as a payload update under one asyncio lock (a compare-and-set), because Mem0's
``update`` re-embeds the text on every metadata change; each is recorded in Mem0's history database.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from resync_ext.memory import mem0_setup
from resync_ext.memory.errors import (
    InvalidState,
    MemoryNotFound,
    MemoryStoreError,
    StateConflict,
    StoreUnavailable,
)
from resync_ext.memory.mem0_engine import EngineSettings, open_mem0
from resync_ext.memory.models import (
    EXCLUDED_FROM_RETRIEVAL,
    STATES,
    AuditInfo,
    Memory,
    ReviewInfo,
    check_id,
    check_state,
    history_event,
    memory_from_mem0,
    memory_from_payload,
    turn_text,
    utc_now,
)
from resync_ext.redact import mask_obj, mask_secrets

T = TypeVar("T")

#: Minimum cosine similarity for a memory to be offered at all.
MIN_SCORE = 0.1
#: Added to an approved memory's score, so it ranks above an equally similar unreviewed one.
APPROVED_BOOST = 0.05
MAX_SEARCH = 1000  # results a search ranks at most (3 hits read each); the API 400s past it


class Mem0MemoryStore:
    """MemoryStore over Mem0 with Qdrant Edge (embedded), qdrant-client local mode or a server."""

    def __init__(
        self,
        *,
        data_dir: Path,
        engine: str = "edge",
        qdrant_url: str | None = None,
        qdrant_api_key: str | None = None,
        embedder_path: str | None = None,
        lm: Any = None,
        infer: bool = False,
        flush_interval_s: float = 5.0,
        index_threshold: int = 20_000,
        embed_threads: int = 1,
        embedder_backend: str = "onnx",
        embedder_cache: Path | None = None,
        collection: str = "memories",
        scope: str = "resync",
        log: logging.Logger | None = None,
    ) -> None:
        self.settings = EngineSettings(
            memory_dir=Path(data_dir).expanduser() / "memory",
            engine=engine,
            qdrant_url=qdrant_url,
            qdrant_api_key=qdrant_api_key,
            embedder_path=embedder_path,
            embedder_backend=embedder_backend,
            embedder_cache=Path(embedder_cache) if embedder_cache else None,
            embed_threads=embed_threads,
            index_threshold=index_threshold,
            collection=collection,
            lm=lm,
        )
        self.infer = infer
        self.flush_interval_s = flush_interval_s
        self.scope = scope  # Mem0 scopes every memory by a user, agent or run id: one for all
        self.log = log or logging.getLogger(__name__)
        self._mem: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._state_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._dirty = False
        self._embedding: set[asyncio.Task[None]] = set()

    @property
    def engine(self) -> str:
        """The vector engine: ``edge``, ``local`` or ``server``."""
        return self.settings.engine

    @property
    def location(self) -> str:
        """Where the memories live (a directory or the server URL), for messages."""
        return self.settings.location

    # -- lifecycle ------------------------------------------------------------------------------
    async def open(self) -> None:
        """Load Mem0, the embedder and the vector engine on a worker thread."""
        if self._mem is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="resync-memory")
        loop = asyncio.get_running_loop()
        try:
            self._mem = await loop.run_in_executor(
                self._executor, open_mem0, self.settings, self.log
            )
        except BaseException as e:
            self._executor.shutdown(wait=False)
            self._executor = None
            if isinstance(e, MemoryStoreError | asyncio.CancelledError):
                raise
            raise StoreUnavailable(f"cannot open the memory store at {self.location}: {e}") from e
        if self.engine == "edge" and self.flush_interval_s > 0:
            self._flusher = asyncio.create_task(self._flush_loop(), name="resync-memory-flush")

    async def close(self) -> None:
        """Flush and release the engine and the history database; never raises."""
        with contextlib.suppress(BaseException):
            await self.settle()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(BaseException):
                await self._flusher
            self._flusher = None
        mem, self._mem = self._mem, None
        if mem is not None and self._executor is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._executor, mem0_setup.close_memory, mem
                )
            except Exception:
                self.log.exception("memory: error while closing the store at %s", self.location)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            if self._dirty and self._mem is not None:
                self._dirty = False
                try:
                    await self._run(self._mem.vector_store.flush)
                except MemoryStoreError as e:
                    self.log.warning("memory: flush failed: %s", e)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._mem is None or self._executor is None:
            raise StoreUnavailable(f"the memory store at {self.location} is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # -- writes ---------------------------------------------------------------------------------
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
        """Remember one chat turn with its secrets masked, and return it."""
        check_state(state)
        if not agent_id or not agent_id.strip():
            raise InvalidState("a memory needs an agent_id")
        q, a = mask_secrets(question), mask_secrets(answer)
        metadata = {
            "kind": "conversation",
            "question": q,
            "answer": a,
            # through JSON so the engine gets plain values (a datetime in evidence becomes text)
            "evidence": json.loads(json.dumps(mask_obj(list(evidence)), default=str)),
            "session": mask_secrets(session) if session else None,
            "conversation": conversation,
            "previous": previous,
            "state": state,
        }
        memory_id, provisional = await self._run(self._add_sync, agent_id.strip(), q, a, metadata)
        self._dirty = True
        if provisional:
            task = asyncio.create_task(self._embed_turn(memory_id, turn_text(q, a)))
            self._embedding.add(task)
            task.add_done_callback(self._embedding.discard)
        return await self.get(memory_id)

    def _add_sync(
        self, agent_id: str, q: str, a: str, metadata: dict[str, Any]
    ) -> tuple[str, bool]:
        """Add through Mem0; return the id and whether the vector is the question's for now."""
        ids = {"user_id": self.scope, "agent_id": agent_id, "metadata": metadata}
        if self.infer:
            turn = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            results = self._mem.add(turn, infer=True, **ids).get("results", [])
            if results:
                return str(results[0]["id"]), False
            # Nothing extracted: keep the turn itself, so every turn is remembered.
        text = turn_text(q, a)
        embedder = self._mem.embedding_model
        if not embedder.has(q):  # no search just embedded the question: embed the turn now
            added = self._mem.add([{"role": "user", "content": text}], infer=False, **ids)
            return str(added["results"][0]["id"]), False
        # The chat turn searched with this question a moment ago: write the turn at once under
        # the question's vector (the answer waits on no embedding), and give it the vector of
        # its whole text (question and answer, ~30 ms of CPU) in the background.
        with embedder.embedding_as(text, q):
            added = self._mem.add([{"role": "user", "content": text}], infer=False, **ids)
        return str(added["results"][0]["id"]), True

    async def _embed_turn(self, memory_id: str, text: str) -> None:
        try:
            await self._run(self._embed_turn_sync, memory_id, text)
        except Exception as e:  # a turn deleted meanwhile, the store closing
            # Still found by its question's vector; nothing is lost.
            self.log.warning("memory: could not embed turn %s in full: %s", memory_id, e)
        self._dirty = True

    def _embed_turn_sync(self, memory_id: str, text: str) -> None:
        vector = self._mem.embedding_model.embed(text, "add")
        self._mem.vector_store.update(vector_id=memory_id, vector=vector)

    async def settle(self) -> None:
        """Wait until every turn added so far is searchable by its full text's vector."""
        while self._embedding:
            await asyncio.gather(*self._embedding, return_exceptions=True)

    async def set_state(
        self,
        memory_id: str,
        state: str,
        *,
        expect: Collection[str] | None = None,
        audit: dict[str, Any] | None = None,
        review: dict[str, Any] | None = None,
    ) -> Memory:
        """Move a memory to ``state`` if it is in one of ``expect`` (atomic in this process)."""
        check_id(memory_id)
        check_state(state)
        for wanted in expect or ():
            check_state(wanted)
        patch: dict[str, Any] = {"state": state, "updated_at": utc_now()}
        try:
            if audit is not None:
                patch["audit"] = mask_obj(AuditInfo.model_validate(audit).model_dump())
            if review is not None:
                patch["review"] = mask_obj(ReviewInfo.model_validate(review).model_dump())
        except ValidationError as e:
            raise InvalidState(f"bad audit or review details: {e.errors()[0]['msg']}") from e
        by = (patch.get("review") or {}).get("by") or ("auditor" if audit is not None else None)
        async with self._state_lock:
            current = await self._run(self._payload_sync, memory_id)
            now_state = str(current.get("state", "new"))
            if expect is not None and now_state not in expect:
                raise StateConflict(memory_id, now_state, expect)
            await self._run(self._set_state_sync, memory_id, current, now_state, patch, by)
        self._dirty = True
        return await self.get(memory_id)

    def _payload_sync(self, memory_id: str) -> dict[str, Any]:
        hit = self._mem.vector_store.get(vector_id=memory_id)
        if hit is None or hit.payload.get("user_id") != self.scope:
            raise MemoryNotFound(memory_id)
        return dict(hit.payload)

    def _set_state_sync(
        self, memory_id: str, current: dict[str, Any], old: str, patch: dict[str, Any], by: Any
    ) -> None:
        self._mem.vector_store.update(vector_id=memory_id, payload=patch)
        self._mem.db.add_history(
            memory_id,
            old,
            patch["state"],
            "STATE",
            created_at=current.get("created_at"),
            updated_at=patch["updated_at"],
            actor_id=by,
        )

    async def delete(self, memory_id: str) -> None:
        """Forget a memory (its history stays)."""
        check_id(memory_id)
        async with self._state_lock:
            await self._run(self._payload_sync, memory_id)
            await self._run(self._mem.delete, memory_id)
        self._dirty = True

    # -- reads ----------------------------------------------------------------------------------
    async def get(self, memory_id: str) -> Memory:
        """Return one memory or raise ``MemoryNotFound``."""
        check_id(memory_id)
        payload = await self._run(self._payload_sync, memory_id)
        return memory_from_payload(memory_id, payload)

    async def search(
        self,
        query: str,
        *,
        agent_id: str | None = None,
        limit: int = 5,
        include_rejected: bool = False,
    ) -> list[Memory]:
        """Return up to ``limit`` memories similar to ``query``; approved ones get a small boost.

        ``score`` is the cosine similarity, plus ``APPROVED_BOOST`` for approved memories, and the
        results are sorted by it.
        """
        if not query.strip() or limit <= 0:
            return []
        limit = min(limit, MAX_SEARCH)
        filters: dict[str, Any] = {"user_id": self.scope}
        if agent_id:
            filters["agent_id"] = agent_id
        if not include_rejected:
            filters["state"] = {"nin": list(EXCLUDED_FROM_RETRIEVAL)}
        # Over-fetch so an approved memory just below the cut can still rank in.
        found = await self._run(
            self._mem.search, query, top_k=limit * 3, filters=filters, threshold=MIN_SCORE
        )
        ranked = []
        for item in found.get("results", []):
            memory = memory_from_mem0(item)
            if memory.state == "approved":
                memory.score = (memory.score or 0.0) + APPROVED_BOOST
            ranked.append(memory)
        ranked.sort(key=lambda m: m.score or 0.0, reverse=True)
        return ranked[:limit]

    async def list(
        self,
        *,
        state: str | None = None,
        agent_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """Return memories newest first, filtered by state and agent."""
        filters: dict[str, Any] = {"user_id": self.scope}
        if state is not None:
            check_state(state)
            filters["state"] = state
        if agent_id:
            filters["agent_id"] = agent_id
        if limit <= 0:
            return []
        hits = await self._run(self._mem.vector_store.page, filters, limit, max(0, offset))
        return [memory_from_payload(h.id, h.payload) for h in hits]

    async def history(self, memory_id: str) -> builtins.list[dict[str, Any]]:
        """Return the memory's events oldest first: add, state changes, delete."""
        check_id(memory_id)
        rows = await self._run(self._mem.history, memory_id)
        if not rows:
            await self.get(memory_id)  # raises MemoryNotFound for an id never seen
        return [history_event(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        """Return the number of memories in each state."""
        if (count := self._mem.vector_store.count if self._mem is not None else None) is None:
            raise StoreUnavailable(f"the memory store at {self.location} is not open")
        out: dict[str, int] = {}
        async with self._state_lock:  # one snapshot: a memory changing state is counted once
            for state in STATES:
                out[state] = await self._run(count, {"user_id": self.scope, "state": state})
        return out

    async def ping(self) -> dict[str, Any]:
        """Count the memories, timed, for ``/health``."""
        t0 = time.perf_counter()
        try:  # the engine is looked up on the worker: a store not open says so through _run
            total = await self._run(lambda: self._mem.vector_store.count({"user_id": self.scope}))
        except Exception as e:
            ms = (time.perf_counter() - t0) * 1000
            return {"ok": False, "detail": f"{type(e).__name__}: {e}", "latency_ms": ms}
        ms = (time.perf_counter() - t0) * 1000
        detail = f"{total} memories ({self.engine}: {self.location})"
        return {"ok": True, "detail": detail, "latency_ms": round(ms, 2)}
