"""Mem0's vector-store interface over Qdrant Edge, the Qdrant engine embedded in the process.

Qdrant Edge (``qdrant-edge-py``, pinned) keeps one *shard* per directory; a shard can be opened
once per process (a second ``load`` of the same path fails with ``WouldBlock``, as does another
process). So shards live in a process-wide registry keyed by their real path, shared by every
adapter Mem0 builds for the same collection, and each shard's calls go through one lock.

Search is exact (brute force, recall 1.0) while the collection is small (``exact_below`` points),
and uses the HNSW index with ``hnsw_ef`` beyond. The index is never built here: ``optimize()``
holds the GIL for minutes at 100 000 points, so it runs in a child process before the store is
served (see ``edge_maintenance``). Writes are in the WAL when a call returns (they survive a crash
of the process); ``flush()`` makes them survive a crash of the machine, and the memory store calls
it on a cadence and at shutdown.
"""

from __future__ import annotations

import builtins
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mem0.vector_stores.base import VectorStoreBase
from pydantic import BaseModel

from resync_ext.files import private_dir
from resync_ext.memory.edge_filters import to_edge_filter
from resync_ext.memory.edge_maintenance import CONFIG_FILE
from resync_ext.memory.errors import StoreLocked, StoreUnavailable

KEYWORD_FIELDS = ("user_id", "agent_id", "run_id", "actor_id", "state", "kind")
DATETIME_FIELDS = ("created_at",)


class EdgeStoreConfig(BaseModel):
    """What Mem0 passes to ``EdgeVectorStore`` (it deep-copies this for its entity collection)."""

    collection_name: str = "mem0"
    path: str
    embedding_model_dims: int = 384
    exact_below: int = 20_000
    hnsw_ef: int = 256


@dataclass
class _Shard:
    shard: Any
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: int = 0


_SHARDS: dict[str, _Shard] = {}
_REGISTRY_LOCK = threading.Lock()


@dataclass
class EdgeHit:
    """A point as Mem0 expects it from any store: ``id`` (a str), ``score``, ``payload``."""

    id: str
    payload: dict[str, Any]
    score: float | None = None


def _open_shard(path: Path, dims: int) -> _Shard:
    import qdrant_edge as qe

    key = str(path.resolve())
    with _REGISTRY_LOCK:
        entry = _SHARDS.get(key)
        if entry is None:
            try:
                if (path / CONFIG_FILE).exists():
                    shard = qe.EdgeShard.load(key)
                else:
                    params = qe.EdgeVectorParams(size=dims, distance=qe.Distance.Cosine)
                    shard = qe.EdgeShard.create(key, qe.EdgeConfig(vectors=params))
            except Exception as e:  # the engine raises bare Exception
                if "WouldBlock" in str(e):
                    raise StoreLocked(key) from e
                raise StoreUnavailable(f"cannot open the vector store at {key}: {e}") from e
            entry = _SHARDS[key] = _Shard(shard)
            _ensure_indexes(entry.shard)
        entry.users += 1
        return entry


def _ensure_indexes(shard: Any) -> None:
    import qdrant_edge as qe

    present = set(shard.info().payload_schema)
    for name in KEYWORD_FIELDS:
        if name not in present:
            shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
    for name in DATETIME_FIELDS:
        if name not in present:
            shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Datetime))


def _release_shard(path: Path) -> None:
    key = str(path.resolve())
    with _REGISTRY_LOCK:
        entry = _SHARDS.get(key)
        if entry is None:
            return
        entry.users -= 1
        if entry.users > 0:
            return
        del _SHARDS[key]
    with entry.lock:
        entry.shard.flush()
        entry.shard.close()


def is_open(path: Path) -> bool:
    """Tell whether this process already holds the shard at ``path``."""
    with _REGISTRY_LOCK:
        return str(path.resolve()) in _SHARDS


def flush_all() -> None:
    """Flush every open shard to disk (fsync), making acknowledged writes power-loss durable."""
    with _REGISTRY_LOCK:
        entries = list(_SHARDS.values())
    for entry in entries:
        with entry.lock:
            entry.shard.flush()


class EdgeVectorStore(VectorStoreBase):
    """A Mem0 vector store backed by one Qdrant Edge shard per collection directory."""

    def __init__(
        self,
        collection_name: str,
        path: str,
        embedding_model_dims: int = 384,
        exact_below: int = 20_000,
        hnsw_ef: int = 256,
    ) -> None:
        self.collection_name = collection_name
        self.base = Path(path)
        self.embedding_model_dims = embedding_model_dims
        self.exact_below = exact_below
        self.hnsw_ef = hnsw_ef
        self._entry: _Shard | None = None
        self._points = 0
        self.create_col(collection_name, embedding_model_dims, "cosine")

    @property
    def path(self) -> Path:
        """The shard's directory."""
        return self.base / self.collection_name

    def _call(self, method: str, *args: Any) -> Any:
        entry = self._entry
        if entry is None:
            raise StoreUnavailable(f"the vector store at {self.path} is closed")
        with entry.lock:
            try:
                return getattr(entry.shard, method)(*args)
            except Exception as e:  # the engine raises bare Exception
                raise StoreUnavailable(f"vector engine error on {method}: {e}") from e

    # -- collections ----------------------------------------------------------------------------
    def create_col(self, name: str, vector_size: int, distance: Any = "cosine") -> None:
        """Open (or create) the shard directory of collection ``name``."""
        self.collection_name = name
        private_dir(self.path)
        self._entry = _open_shard(self.path, vector_size)
        self._points = self._call("info").points_count

    def list_cols(self) -> list[str]:
        """Return the collections under the base directory (one shard directory each)."""
        return sorted(p.name for p in self.base.iterdir() if (p / CONFIG_FILE).exists())

    def delete_col(self) -> None:
        """Close this collection's shard and delete its directory."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def col_info(self) -> dict[str, Any]:
        """Return point, segment and index counts of the shard."""
        info = self._call("info")
        return {
            "name": self.collection_name,
            "points_count": info.points_count,
            "indexed_vectors_count": info.indexed_vectors_count,
            "segments_count": info.segments_count,
            "payload_schema": sorted(info.payload_schema),
        }

    def reset(self) -> None:
        """Delete every point by recreating the collection."""
        self.delete_col()
        self.create_col(self.collection_name, self.embedding_model_dims)

    # -- points ---------------------------------------------------------------------------------
    def insert(self, vectors: Any, payloads: Any = None, ids: Any = None) -> None:
        """Upsert points (ids are UUID strings from Mem0)."""
        import qdrant_edge as qe

        points = [
            qe.Point(
                ids[i] if ids is not None else i,
                [float(x) for x in vec],
                (payloads[i] if payloads else {}),
            )
            for i, vec in enumerate(vectors)
        ]
        self._call("update", qe.UpdateOperation.upsert_points(points))
        self._points += len(points)

    def search(
        self, query: Any, vectors: Any, top_k: int = 5, filters: Any = None
    ) -> list[EdgeHit]:
        """Return the ``top_k`` nearest points passing ``filters``, cosine score first."""
        import qdrant_edge as qe

        if self._points < self.exact_below:
            params = qe.SearchParams(exact=True)
        else:
            params = qe.SearchParams(hnsw_ef=max(self.hnsw_ef, top_k))
        request = qe.QueryRequest(
            query=qe.Query.Nearest([float(x) for x in vectors]),
            limit=top_k,
            filter=to_edge_filter(filters),
            with_payload=True,
            params=params,
        )
        hits = self._call("query", request)
        return [EdgeHit(str(h.id), dict(h.payload or {}), h.score) for h in hits]

    def keyword_search(self, query: str, top_k: int = 5, filters: Any = None) -> None:
        """Say keyword (BM25) search is off: retrieval is semantic only, scores are cosine."""
        return None

    def delete(self, vector_id: Any) -> None:
        """Delete one point."""
        import qdrant_edge as qe

        self._call("update", qe.UpdateOperation.delete_points([str(vector_id)]))
        self._points = max(0, self._points - 1)

    def update(self, vector_id: Any, vector: Any = None, payload: Any = None) -> None:
        """Replace a point, merge into its payload, or replace its vector (as Mem0 does)."""
        import qdrant_edge as qe

        vid = str(vector_id)
        if vector is not None and payload is not None:
            self._call(
                "update", qe.UpdateOperation.upsert_points([qe.Point(vid, list(vector), payload)])
            )
        elif payload is not None:
            self._call("update", qe.UpdateOperation.set_payload([vid], payload))
        elif vector is not None:
            op = qe.UpdateOperation.update_vectors([qe.PointVectors(vid, list(vector))])
            self._call("update", op)

    def get(self, vector_id: Any) -> EdgeHit | None:
        """Return one point with its payload, or None."""
        # retrieve()'s flags are required positionally in 0.9.0 (the stub says optional).
        records = self._call("retrieve", [str(vector_id)], True, False)
        if not records:
            return None
        return EdgeHit(str(records[0].id), dict(records[0].payload or {}))

    def list(
        self, filters: Any = None, top_k: int | None = None
    ) -> tuple[builtins.list[EdgeHit], Any]:
        """Return ``(points, next_offset)`` like qdrant-client's scroll."""
        import qdrant_edge as qe

        request = qe.ScrollRequest(
            limit=top_k or 100, filter=to_edge_filter(filters), with_payload=True
        )
        records, next_offset = self._call("scroll", request)
        return [EdgeHit(str(r.id), dict(r.payload or {})) for r in records], next_offset

    # -- beyond Mem0's interface: used by the memory store ---------------------------------------
    def page(self, filters: Any, limit: int, offset: int) -> builtins.list[EdgeHit]:
        """Return points newest first (by ``created_at``), skipping ``offset``."""
        import qdrant_edge as qe

        request = qe.ScrollRequest(
            limit=offset + limit,
            filter=to_edge_filter(filters),
            with_payload=True,
            order_by=qe.OrderBy("created_at", qe.Direction.Desc),
        )
        records, _ = self._call("scroll", request)
        return [EdgeHit(str(r.id), dict(r.payload or {})) for r in records[offset:]]

    def count(self, filters: Any = None) -> int:
        """Count points passing ``filters`` exactly (payload indexes make this cheap)."""
        import qdrant_edge as qe

        return int(self._call("count", qe.CountRequest(exact=True, filter=to_edge_filter(filters))))

    def flush(self) -> None:
        """Fsync the shard's WAL and segments."""
        self._call("flush")

    def close(self) -> None:
        """Release this adapter's hold on the shard (the last one flushes and closes it)."""
        if self._entry is not None:
            self._entry = None
            _release_shard(self.path)
