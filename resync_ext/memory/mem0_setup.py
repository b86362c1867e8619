"""Build a Mem0 ``Memory`` that stays offline, quiet and inside the data directory.

Mem0 reads ``MEM0_TELEMETRY`` and ``MEM0_DIR`` when it is first imported: with telemetry on it
contacts the network and opens a second Qdrant store (which makes two processes collide), and its
directory defaults to ``~/.mem0``. So both are set before the first import, and checked after it.
Mem0 validates provider names against a fixed list, so the workbench's own vector stores and LLM
adapter are registered in its factories and their config sections built without that check.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from resync_ext.files import private_dir
from resync_ext.memory import embedder

EDGE_PROVIDER = "resync_edge"
CLIENT_PROVIDER = "resync_qdrant"
LLM_PROVIDER = "resync_dspy"


def prepare_env(mem0_dir: Path, log: logging.Logger) -> None:
    """Set Mem0's and Hugging Face's environment before Mem0 is imported."""
    private_dir(mem0_dir)
    os.environ["MEM0_TELEMETRY"] = "False"
    os.environ["MEM0_DIR"] = str(mem0_dir)
    embedder.set_offline_env()
    import mem0.memory.main as mem0_main
    import mem0.memory.telemetry as mem0_telemetry

    if mem0_telemetry.MEM0_TELEMETRY or mem0_main.MEM0_TELEMETRY:
        # Imported earlier by someone else with telemetry on: switch it off where it is read.
        log.warning("memory: mem0 was imported with telemetry on; turning it off")
        mem0_telemetry.MEM0_TELEMETRY = False
        mem0_main.MEM0_TELEMETRY = False
    _no_spacy_download()


def _no_spacy_download() -> None:
    """Stop Mem0 from reaching for spaCy: it would download a model when spaCy lacks one."""
    if importlib.util.find_spec("spacy") is not None and importlib.util.find_spec("en_core_web_sm"):
        return  # spaCy with its model: Mem0 lemmatizes and extracts entities offline
    from mem0.utils import spacy_models

    # As if loading had failed (Mem0 then uses plain text), without the download or the warning.
    spacy_models._load_failed_full = True
    spacy_models._load_failed_lemma = True


def register_providers() -> None:
    """Make Mem0's factories know the workbench's vector stores and LLM adapter."""
    from mem0.utils.factory import EmbedderFactory, LlmFactory, VectorStoreFactory

    from resync_ext.memory import onnx_embedder

    EmbedderFactory.provider_to_class[onnx_embedder.PROVIDER] = (
        "resync_ext.memory.onnx_embedder.OnnxEmbedding"
    )
    VectorStoreFactory.provider_to_class[EDGE_PROVIDER] = (
        "resync_ext.memory.edge_vector_store.EdgeVectorStore"
    )
    VectorStoreFactory.provider_to_class[CLIENT_PROVIDER] = (
        "resync_ext.memory.client_vector_store.ClientVectorStore"
    )
    LlmFactory.register_provider(LLM_PROVIDER, "resync_ext.memory.lm_adapter.DspyLLM")


def vector_section(
    *,
    engine: str,
    memory_dir: Path,
    url: str | None,
    api_key: str | None,
    collection: str,
) -> tuple[str, Any]:
    """Return ``(provider, config)`` of the vector store for ``engine`` (edge, local or server)."""
    dims = embedder.EMBEDDING_DIMS
    if engine == "edge":
        from resync_ext.memory.edge_vector_store import EdgeStoreConfig

        cfg = EdgeStoreConfig(
            collection_name=collection, path=str(memory_dir / "edge"), embedding_model_dims=dims
        )
        return EDGE_PROVIDER, cfg
    from mem0.configs.vector_stores.qdrant import QdrantConfig

    if engine == "local":
        return CLIENT_PROVIDER, QdrantConfig(
            collection_name=collection,
            embedding_model_dims=dims,
            path=str(memory_dir / "local"),
            on_disk=True,
        )
    return CLIENT_PROVIDER, QdrantConfig(
        collection_name=collection, embedding_model_dims=dims, url=url, api_key=api_key
    )


def embedder_section(model_path: Path, *, onnx_engine: Any = None) -> dict[str, Any]:
    """Return Mem0's embedder section over the local model, 384-d.

    With ``onnx_engine`` (an opened ``onnx_embedder.OnnxMiniLM``) it is the workbench's ONNX
    Runtime embedder; without, Mem0's huggingface provider (sentence-transformers on PyTorch).
    """
    if onnx_engine is not None:
        from resync_ext.memory import onnx_embedder

        return {
            "provider": onnx_embedder.PROVIDER,
            "config": {
                "model": str(model_path),
                "embedding_dims": embedder.EMBEDDING_DIMS,
                "model_kwargs": {"engine": onnx_engine},
            },
        }
    return {
        "provider": "huggingface",
        "config": {
            "model": str(model_path),
            "embedding_dims": embedder.EMBEDDING_DIMS,
            "model_kwargs": {"device": "cpu", "local_files_only": True},
        },
    }


def build_memory(
    *,
    vector_provider: str,
    vector_config: Any,
    model_path: Path,
    history_db: Path,
    lm: Any,
    onnx_engine: Any = None,
    threads: int = 1,
) -> Any:
    """Construct Mem0's ``Memory`` (loads the embedder and opens the vector store).

    The embedder runs on ``onnx_engine`` (ONNX Runtime) when given, else on PyTorch with
    ``threads`` threads.
    """
    from mem0 import Memory
    from mem0.configs.base import MemoryConfig
    from mem0.embeddings.configs import EmbedderConfig
    from mem0.llms.configs import LlmConfig
    from mem0.vector_stores.configs import VectorStoreConfig

    register_providers()
    section = embedder_section(model_path, onnx_engine=onnx_engine)
    if onnx_engine is None:
        embedder.quiet_progress_bars()
        embedder.limit_threads(threads)
        config = MemoryConfig(embedder=EmbedderConfig(**section), history_db_path=str(history_db))
    else:  # Mem0's validator knows only its own providers (as for the vector store below)
        config = MemoryConfig(history_db_path=str(history_db))
        config.embedder = EmbedderConfig.model_construct(**section)
    # Assigned after validation, built with model_construct: Mem0's validators accept only their
    # built-in provider names (they would also re-run on instances passed to the constructor).
    config.vector_store = VectorStoreConfig.model_construct(
        provider=vector_provider, config=vector_config
    )
    config.llm = LlmConfig.model_construct(provider=LLM_PROVIDER, config={"model": lm})
    return Memory(config)


def close_memory(mem: Any) -> None:
    """Flush and close Mem0's vector stores (main and entity) and its history database."""
    stores = [mem.vector_store, getattr(mem, "_entity_store", None)]
    for store in stores:
        close = getattr(store, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                store.flush()
            close()
    mem.close()
