"""Build the DSPy LM from configuration: the embedded local model or any provider.

``lm_model='local'`` (the default) runs a GGUF model in-process through a DSPy engine
(:mod:`resync_ext.llm.local_engine`); anything else is a provider id DSPy/LiteLLM accepts
(``openai/gpt-4o-mini``, ``ollama_chat/qwen2.5``, ``azure/...``, ``watsonx/...``, or
``openai/<name>`` with ``api_base`` for an OpenAI-compatible server such as vLLM or llama.cpp).

Call :func:`prepare_environment` before anything imports dspy (the extension does it at start):
it keeps DSPy's disk cache under the data directory and stops LiteLLM from fetching its price map.
Never call ``dspy.configure`` per request: run each call inside ``dspy.context(lm=...)``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from resync_ext.llm.errors import LLMError, LMConfigError, LocalModelUnavailable, WeightsError

__all__ = [
    "LLMError",
    "LMConfigError",
    "LocalModelUnavailable",
    "WeightsError",
    "build_lm",
    "local_engine_of",
    "prepare_environment",
]

LOCAL = "local"
_log = logging.getLogger(__name__)


_prepared: Path | None = None


def prepare_environment(data_dir: Path) -> None:
    """Point DSPy's cache into ``data_dir`` and keep LiteLLM offline (before dspy is imported).

    Once per process: the first data directory wins, as DSPy's cache is process-wide.
    """
    global _prepared
    if _prepared is not None:
        return
    cache = Path(data_dir).expanduser() / "cache" / "dspy"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("DSPY_CACHEDIR", str(cache))
    if "dspy" in sys.modules:
        # dspy read DSPY_CACHEDIR at import; move its disk cache now (once, at start).
        import dspy

        dspy.configure_cache(disk_cache_dir=str(cache))
    _prepared = cache


def build_lm(
    *,
    model: str = LOCAL,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout_s: float = 60.0,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    local_model_path: str | Path | None = None,
    data_dir: Path,
    cache: bool = True,
    n_ctx: int = 4096,
    background_defer_s: float | None = None,
    log: logging.Logger | None = None,
) -> Any:
    """Return a ``dspy.LM`` for ``model``; the local model is loaded on first use, not here.

    ``background_defer_s``: how long after a chat turn the local model keeps background calls
    waiting (resync_ext.llm.priority; default there)."""
    log = log or _log
    model = (model or LOCAL).strip()
    if not 0.0 <= temperature <= 2.0:
        raise LMConfigError(f"temperature {temperature} is outside 0..2")
    if max_tokens < 16:
        raise LMConfigError(f"max_tokens {max_tokens} is below 16")
    prepare_environment(data_dir)
    import dspy

    if model == LOCAL or model.startswith(LOCAL + "/"):
        from resync_ext.llm import weights
        from resync_ext.llm.local_engine import AsyncLocalEngine, LocalEngine
        from resync_ext.llm.priority import DEFER_S, PriorityGate

        name = model.partition("/")[2] or (
            Path(local_model_path).stem if local_model_path else weights.DEFAULT_MODEL_NAME
        )

        def path() -> Path:
            return weights.resolve_model_path(local_model_path, Path(data_dir), log)

        gate = PriorityGate(defer_s=DEFER_S if background_defer_s is None else background_defer_s)
        engine = LocalEngine(path, n_ctx=n_ctx, gate=gate, log=log)
        return dspy.LM(
            f"local/{name}",
            engine=engine,
            async_engine=AsyncLocalEngine(engine),
            temperature=temperature,
            max_tokens=max_tokens,
            cache=cache,
            num_retries=0,
        )
    if "/" not in model:
        raise LMConfigError(
            f"lm_model {model!r} is neither 'local' nor a provider id such as 'openai/gpt-4o-mini'"
        )
    kwargs: dict[str, Any] = {"timeout": timeout_s}
    if api_base:
        kwargs["api_base"] = api_base
    if api_key:
        kwargs["api_key"] = api_key
    elif api_base:
        # OpenAI-compatible servers (vLLM, llama.cpp) often need no key, but the client wants one.
        kwargs["api_key"] = "unused"
    return dspy.LM(
        model, temperature=temperature, max_tokens=max_tokens, cache=cache, num_retries=2, **kwargs
    )


def local_engine_of(lm: Any) -> Any:
    """Return the LocalEngine behind an LM built for 'local', or None for a provider."""
    from resync_ext.llm.local_engine import LocalEngine

    engine = getattr(lm, "engine", None)
    return engine if isinstance(engine, LocalEngine) else None
