"""The ONNX Runtime embedder: sentence-transformers' vectors, exported once, never half-written."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resync_ext.memory import create_memory_store, onnx_embedder
from resync_ext.memory.embedder import model_path

pytestmark = pytest.mark.slow

TEXTS = [
    "Why did PAYROLL_EXTRACT abend?",
    "Q: Which workstations are unlinked?\nA: AGT_WIN02 has been unlinked since 02:10.",
    "AWSBHT001E " + "the job log repeats this line until the limit. " * 120,  # past 256 pieces
    "",
]


@pytest.fixture(scope="module")
def reference() -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def graph() -> Path:
    """The graph in the user's cache, as a store would use it."""
    cache = onnx_embedder.default_cache_dir()
    onnx_embedder.open_engine(model_path(), cache, threads=1)
    return onnx_embedder.graph_path(model_path(), cache)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "embedder"


def test_vectors_are_sentence_transformers_vectors(graph: Path, reference: Any) -> None:
    engine = onnx_embedder.OnnxMiniLM.load(graph, model_path(), threads=1)
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    one_by_one = np.array([engine.embed_many([t])[0] for t in TEXTS])
    batched = np.array(engine.embed_many(TEXTS))  # padded to the longest: the mask must hold
    assert one_by_one.shape == (len(TEXTS), 384)
    assert np.min(np.sum(expected * one_by_one, axis=1)) > 0.9999
    assert np.max(np.abs(batched - one_by_one)) < 1e-4
    assert np.allclose(np.linalg.norm(one_by_one, axis=1), 1.0, atol=1e-5)


def test_a_damaged_graph_is_exported_again(graph: Path, cache: Path) -> None:
    cache.mkdir()
    target = onnx_embedder.graph_path(model_path(), cache)
    target.write_bytes(b"not an onnx graph")
    engine = onnx_embedder.open_engine(model_path(), cache, threads=1)
    assert target.stat().st_size > 50_000_000
    assert len(engine.embed_many(["PAYROLL_EXTRACT"])[0]) == 384
    onnx_embedder.OnnxMiniLM.load(target, model_path(), threads=1)


def test_an_interrupted_export_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def crash(model: Any, args: Any, path: str, **kwargs: Any) -> None:
        Path(path).write_bytes(b"half a graph")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch.onnx, "export", crash)
    with pytest.raises(KeyboardInterrupt):
        onnx_embedder.open_engine(model_path(), cache, threads=1)
    assert list(cache.iterdir()) == []


async def test_the_store_falls_back_to_pytorch_when_the_export_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(model_dir: Path, target: Path) -> None:
        raise RuntimeError("no room left on the device")

    monkeypatch.setattr(onnx_embedder, "export", fail)
    store = create_memory_store(
        data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None, embedder_cache=tmp_path / "c"
    )
    with caplog.at_level(logging.WARNING):
        await store.open()
    try:
        assert type(store._mem.embedding_model.inner).__name__ == "HuggingFaceEmbedding"
        assert "no ONNX embedder (RuntimeError: no room left on the device)" in caplog.text
        turn = await store.add_turn(
            agent_id="a", question="Why did PAYROLL_EXTRACT fail?", answer="ORA-01017", evidence=[]
        )
        assert (await store.search("payroll failure", limit=1))[0].id == turn.id
    finally:
        await store.close()


def test_a_store_opened_on_the_exported_graph_imports_no_pytorch(
    graph: Path, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from resync_ext.memory import create_memory_store

        async def main():
            store = create_memory_store(data_dir={str(tmp_path)!r}, qdrant_url=None,
                                        qdrant_api_key=None, embedder_cache={str(graph.parent)!r})
            await store.open()
            kind = type(store._mem.embedding_model.inner).__name__
            await store.add_turn(agent_id="a", question="q?", answer="a.", evidence=[])
            await store.close()
            heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers")
                           if m in sys.modules)
            print(kind, heavy)

        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "OnnxEmbedding []"
