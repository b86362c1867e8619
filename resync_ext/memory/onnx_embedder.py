"""all-MiniLM-L6-v2 on ONNX Runtime: sentence-transformers' vectors, ~2.5x faster for a question.

On two CPU cores the embedder is most of a chat turn's own time. PyTorch spends much of a short
sentence in per-operator overhead (~12 ms for a 13-token question); ONNX Runtime runs the same
graph in one call (~4.5 ms) and releases the GIL for all of it, so the server's event loop keeps
running while a turn embeds. The vectors match sentence-transformers' to cos > 0.9999, so a store
built with either backend serves the other.

The graph is exported once from the packaged safetensors with ``torch.onnx`` into the user's cache
(``~/.cache/resync/embedder/``, ~90 MB, a few seconds) and checked against sentence-transformers
before it is used; later opens load it without importing torch. The file is written under a
temporary name and renamed, so a crash mid-export leaves nothing half-written behind; a file that
does not load is exported again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

from mem0.configs.embeddings.base import BaseEmbedderConfig
from mem0.embeddings.base import EmbeddingBase

log = logging.getLogger(__name__)

PROVIDER = "resync_onnx"
#: Texts the exported graph must embed like sentence-transformers before it is trusted.
PROBES = (
    "Why did PAYROLL_EXTRACT abend on CPU_A last night?",
    "Q: Which workstations are unlinked?\nA: AGT_WIN02 since 02:10; the agent service stopped.",
)
MIN_AGREEMENT = 0.9999


def available() -> bool:
    """Whether ONNX Runtime is installed (the export also needs ``onnx``, checked when used)."""
    return importlib.util.find_spec("onnxruntime") is not None


def default_cache_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/resync/embedder`` (``~/.cache/resync/embedder``).

    A cache, not data: derived from the installed weights, shared by every data directory of the
    user, and exported again if deleted.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "resync" / "embedder"


def graph_path(model_dir: Path, cache_dir: Path) -> Path:
    """Return where the graph exported from ``model_dir`` lives (a new weights file, a new name)."""
    weights = (model_dir / "model.safetensors").stat()
    return cache_dir / f"minilm-{weights.st_size}-{int(weights.st_mtime)}.onnx"


def export(model_dir: Path, target: Path) -> None:
    """Export the transformer of ``model_dir`` to ``target`` and check it; atomic."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from resync_ext.memory.embedder import quiet_progress_bars

    quiet_progress_bars()
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    bert: Any = model[0].auto_model
    bert.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    sample = model.tokenizer(["a sample sentence"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
            torch.onnx.export(
                Encoder(),
                tuple(sample[n] for n in names),
                tmp,
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        expected = model.encode(list(PROBES), normalize_embeddings=True)
        got = np.array(OnnxMiniLM.load(Path(tmp), model_dir, threads=1).embed_many(PROBES))
        agreement = float(np.min(np.sum(expected * got, axis=1)))
        if agreement < MIN_AGREEMENT:
            raise RuntimeError(f"the exported graph disagrees with the model (cos {agreement:.5f})")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class OnnxMiniLM:
    """Tokenize with the model's own tokenizer, run the graph, mean-pool, normalise."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self.session = session
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, graph: Path, model_dir: Path, *, threads: int) -> OnnxMiniLM:
        """Open ``graph`` on ``threads`` CPU threads with the tokenizer of ``model_dir``."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # Idle pool threads spinning for work would take a core from the event loop.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        settings = json.loads((model_dir / "sentence_bert_config.json").read_text())
        tokenizer.enable_truncation(int(settings.get("max_seq_length", 256)))
        tokenizer.enable_padding()  # to the longest text of a batch; a single text is not padded
        return cls(session, tokenizer)

    def embed_many(self, texts: Any) -> list[list[float]]:
        """Return one unit vector per text."""
        import numpy as np

        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(hidden.dtype)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return [row.tolist() for row in pooled]


def open_engine(model_dir: Path, cache_dir: Path, *, threads: int) -> OnnxMiniLM:
    """Load the graph of ``model_dir`` from ``cache_dir``, exported first if missing or damaged."""
    graph = graph_path(model_dir, cache_dir)
    if graph.is_file():
        try:
            return OnnxMiniLM.load(graph, model_dir, threads=threads)
        except Exception as e:  # a damaged file: export it again
            log.warning("memory: the embedder graph %s does not load (%s); exporting", graph, e)
    log.info("memory: exporting the embedder to ONNX at %s (once)", graph)
    export(model_dir, graph)
    return OnnxMiniLM.load(graph, model_dir, threads=threads)


class OnnxEmbedding(EmbeddingBase):
    """Mem0's embedder interface over an ``OnnxMiniLM`` (``config.model_kwargs["engine"]``,
    from ``open_engine``)."""

    def __init__(self, config: BaseEmbedderConfig | None = None) -> None:
        super().__init__(config)
        self.engine: OnnxMiniLM = (self.config.model_kwargs or {})["engine"]

    def embed(
        self, text: str, memory_action: Literal["add", "search", "update"] | None = None
    ) -> list[float]:
        """Return the unit vector of ``text``."""
        return self.engine.embed_many([text])[0]

    def embed_batch(self, texts: list[str], memory_action: str = "add") -> list[list[float]]:
        """Return the unit vectors of ``texts`` in one run."""
        return self.engine.embed_many(texts) if texts else []
