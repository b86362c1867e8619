"""Assemble the engine a ``Mem0MemoryStore`` runs on: the embedder, the vector engine, Mem0.

Everything here blocks (torch or ONNX Runtime, Qdrant, SQLite) and runs on the store's worker
thread, never on the event loop. The embedder runs on ONNX Runtime when it is installed and its
graph can be exported, else on PyTorch; a Qdrant Edge shard gets its payload indexes and HNSW
settings before it is opened; Mem0's embedder is wrapped in ``RecentEmbeddings`` so that a chat turn
reuses the vector its question was just searched with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resync_ext.files import private_dir
from resync_ext.memory import mem0_setup
from resync_ext.memory.embedder import RecentEmbeddings
from resync_ext.memory.errors import StoreLocked


@dataclass(frozen=True)
class EngineSettings:
    """Where the memories live and what embeds them (see ``create_memory_store``)."""

    memory_dir: Path
    engine: str = "edge"  # "edge" (Qdrant Edge), "local" (qdrant-client) or "server"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    embedder_path: str | None = None
    embedder_backend: str = "onnx"  # or "torch"
    embedder_cache: Path | None = None
    embed_threads: int = 1
    index_threshold: int = 20_000
    collection: str = "memories"
    lm: Any = None  # the DSPy LM Mem0 asks to extract facts (``infer=True`` only)

    @property
    def location(self) -> str:
        """Where the memories live (a directory or the server URL), for messages."""
        return self.qdrant_url or str(self.memory_dir / self.engine / self.collection)


def open_mem0(settings: EngineSettings, log: logging.Logger) -> Any:
    """Return Mem0's ``Memory`` over the chosen vector engine and embedder (blocking)."""
    from resync_ext.memory import edge_maintenance, embedder

    private_dir(settings.memory_dir)
    mem0_setup.prepare_env(settings.memory_dir / "mem0", log)
    model = embedder.model_path(settings.embedder_path)
    engine = onnx_engine(model, settings, log) if settings.embedder_backend == "onnx" else None
    provider, vcfg = mem0_setup.vector_section(
        engine=settings.engine,
        memory_dir=settings.memory_dir,
        url=settings.qdrant_url,
        api_key=settings.qdrant_api_key,
        collection=settings.collection,
    )
    if settings.engine == "edge":
        from resync_ext.memory.edge_vector_store import is_open

        shard_dir = Path(vcfg.path) / settings.collection
        if not is_open(shard_dir):
            edge_maintenance.prepare(shard_dir, index_threshold=settings.index_threshold, log=log)
    try:
        mem = mem0_setup.build_memory(
            vector_provider=provider,
            vector_config=vcfg,
            model_path=model,
            history_db=settings.memory_dir / "history.db",
            lm=settings.lm,
            onnx_engine=engine,
            threads=settings.embed_threads,
        )
    except RuntimeError as e:
        if "already accessed by another instance" in str(e):  # qdrant-client local mode
            raise StoreLocked(str(settings.memory_dir / "local")) from e
        raise
    mem.embedding_model = RecentEmbeddings(mem.embedding_model)
    return mem


def onnx_engine(model: Path, settings: EngineSettings, log: logging.Logger) -> Any:
    """Return the embedder opened on ONNX Runtime, or None to run it on PyTorch instead."""
    from resync_ext.memory import onnx_embedder

    if not onnx_embedder.available():
        log.warning("memory: onnxruntime is not installed; the embedder runs on PyTorch")
        return None
    try:
        cache = settings.embedder_cache or onnx_embedder.default_cache_dir()
        return onnx_embedder.open_engine(model, cache, threads=settings.embed_threads)
    except Exception as e:  # the export needs torch.onnx and onnx; PyTorch still works
        log.warning("memory: no ONNX embedder (%s: %s); using PyTorch", type(e).__name__, e)
        return None
