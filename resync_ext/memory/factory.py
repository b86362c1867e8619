"""Build the memory store from the extension's settings (no heavy import until ``open()``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from resync_ext.memory.errors import InvalidState
from resync_ext.memory.store import MemoryStore

ENGINES = ("edge", "local")
EMBEDDERS = ("onnx", "torch")


def create_memory_store(
    *,
    data_dir: Path,
    qdrant_url: str | None,
    qdrant_api_key: str | None,
    engine: str = "edge",
    embedder_path: str | None = None,
    embedder: str = "onnx",
    embedder_cache: Path | None = None,
    lm: Any = None,
    infer: bool = False,
    log: logging.Logger | None = None,
) -> MemoryStore:
    """Return an unopened store: a Qdrant server when ``qdrant_url`` is set, else ``engine``.

    ``engine`` is ``"edge"`` (Qdrant Edge embedded under ``data_dir``, the default) or ``"local"``
    (qdrant-client's pure-Python local mode); a URL given as ``engine`` also selects a server.
    ``embedder`` is ``"onnx"`` (ONNX Runtime, falling back to PyTorch) or ``"torch"``; the ONNX
    graph is kept in ``embedder_cache`` (default ``~/.cache/resync/embedder``).
    """
    from resync_ext.memory.mem0_store import Mem0MemoryStore

    if engine.startswith(("http://", "https://")) and not qdrant_url:
        qdrant_url = engine
    if qdrant_url:
        chosen = "server"
    elif engine in ENGINES:
        chosen = engine
    else:
        raise InvalidState(f"unknown vector engine {engine!r}; expected 'edge', 'local' or a URL")
    if embedder not in EMBEDDERS:
        raise InvalidState(f"unknown embedder {embedder!r}; expected 'onnx' or 'torch'")
    return Mem0MemoryStore(
        data_dir=Path(data_dir),
        engine=chosen,
        qdrant_url=qdrant_url,
        qdrant_api_key=qdrant_api_key,
        embedder_path=embedder_path,
        embedder_backend=embedder,
        embedder_cache=embedder_cache,
        lm=lm,
        infer=infer,
        log=log,
    )
