"""The auditor's judge on a labelled set: precision and recall of "flag" (a doubt the auditor
queues: "suspicious" or "incorrect" at ``audit_flag_confidence``, 0.6, or more).

The set is ``tests/judge_set/turns.json`` (built by ``tests/judge_set/build.py`` from turns the
real agents answered on the evaluation cases' simulated nights): about half kept as answered
(label ok), half with one planted error (a contradicted status or return code, a swapped error
code, an invented name, the answer to another job's question, a claimed action).

Judges measured, each as ``resync_ext.audit.judge.CheckedJudge`` over a different LM judge:

- ``checks``: the deterministic checks alone (no LM);
- ``scripted_doubt_claims``: a scripted LM that says "incorrect" at 0.8 for every answer, as the
  embedded model did on an unseen night (issue 19), its reason saying a claim of the answer is
  not supported: what the checks leave of such a judge (they refute what they verified);
- ``scripted_flag_all``: the same verdicts with a reason that names nothing: nothing to refute;
  judging alone (the baseline) it flags every answer, behind the checks its doubt alone stays
  under the flag confidence;
- ``scripted_ok_all``: a scripted LM that finds every answer fine (the checks alone decide);
- ``embedded`` (not with ``--quick``; only when the embedded model is installed): the judge
  program (agents/judge.py) on the embedded model, behind the checks, with the same model
  judging alone as the baseline (``embedded_lm_alone``), the same for the flags at confidence
  ``CONFIDENT`` or more (``embedded_confident``: the top of a queue sorted by confidence), and
  the seconds per turn.

Run: ``python -m benchmarks.run --only judge`` (``--quick``: no embedded model).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "tests" / "judge_set"


def load_set(name: str = "turns") -> list[dict[str, Any]]:
    """The labelled turns of ``tests/judge_set/<name>.json``."""
    turns: list[dict[str, Any]] = json.loads((SETS / f"{name}.json").read_text(encoding="utf-8"))
    return turns


def scores(turns: list[dict[str, Any]], flags: list[bool]) -> dict[str, Any]:
    """Precision and recall of ``flags`` against the labels (flag = positive)."""
    tp = sum(1 for t, f in zip(turns, flags, strict=True) if f and t["label"] == "flag")
    fp = sum(1 for t, f in zip(turns, flags, strict=True) if f and t["label"] != "flag")
    fn = sum(1 for t, f in zip(turns, flags, strict=True) if not f and t["label"] == "flag")
    return {
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "missed": [
            t["id"] for t, f in zip(turns, flags, strict=True) if not f and t["label"] == "flag"
        ],
        "false_flags": [
            t["id"] for t, f in zip(turns, flags, strict=True) if f and t["label"] != "flag"
        ],
    }


def scripted(verdict: str, confidence: float, *, cite: bool = False) -> Any:
    """A scripted LM judge that gives every answer the same verdict; with ``cite``, its reason
    says the answer's first claim is not supported by the evidence (a small model's usual
    complaint), else it names nothing."""
    from resync_ext.agents.grounding import claims

    async def judge(*, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        found = claims(answer)
        reason = "the answer may be wrong"
        if cite and found:
            reason = f"{found[0].text} is not supported by the evidence"
        return {"verdict": verdict, "confidence": confidence, "reason": reason}

    return judge


#: A flag this sure rests on more than the LM's word (LM-only flags stay at or under 0.6).
CONFIDENT = 0.65
#: Each turn's confidence when it was flagged (0 when not), filled by ``judge_all``.
LAST_CONFIDENCES: list[float] = []


async def judge_all(judge: Any, turns: list[dict[str, Any]]) -> tuple[list[bool], float]:
    """Each turn's flag under ``judge``, and the seconds per turn (flag confidences in
    ``LAST_CONFIDENCES``)."""
    from resync_ext.audit.judge import Verdict, is_flag

    flags = []
    LAST_CONFIDENCES.clear()
    t0 = time.perf_counter()
    for t in turns:
        try:
            raw = await judge(question=t["question"], answer=t["answer"], evidence=t["evidence"])
            verdict = raw if isinstance(raw, Verdict) else Verdict.model_validate(raw)
            # What the auditor queues: a doubt at audit_flag_confidence (0.6) or more.
            flags.append(is_flag(verdict))
            LAST_CONFIDENCES.append(verdict.confidence if flags[-1] else 0.0)
        except Exception as e:  # an unparseable verdict leaves the memory new: not a flag
            print(f"   {t['id']}: no verdict ({type(e).__name__}: {e})", file=sys.stderr)
            flags.append(False)
            LAST_CONFIDENCES.append(0.0)
    return flags, (time.perf_counter() - t0) / max(len(turns), 1)


class Remembered:
    """An LM judge asked once per turn: a second ask gets the first verdict (or error) again,
    and ``timed`` counts in ``lm_seconds_asked`` the seconds the first asks took (the embedded
    model needs ~20 s a verdict: asking each turn twice made the bench outlast its budget)."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.seen: dict[tuple[str, str], tuple[Any, BaseException | None, float]] = {}
        self.lm_seconds_asked = 0.0

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> Any:
        key = (question, answer)
        if key not in self.seen:
            t0 = time.perf_counter()
            try:
                out = await self.judge(question=question, answer=answer, evidence=evidence)
                self.seen[key] = (out, None, time.perf_counter() - t0)
            except Exception as e:
                self.seen[key] = (None, e, time.perf_counter() - t0)
        out, error, _ = self.seen[key]
        if error is not None:
            raise error
        return out

    async def timed(self, *, question: str, answer: str, evidence: list[Any]) -> Any:
        """Ask as :meth:`__call__`, adding the first ask's seconds to ``lm_seconds_asked``."""
        out = self.seen.get((question, answer))
        if out is not None:
            self.lm_seconds_asked += out[2]
        return await self(question=question, answer=answer, evidence=evidence)


def _embedded_judge() -> tuple[Any, Any]:
    """The judge program (agents/judge.py) on the embedded model, as the auditor builds it, and
    the model's engine (to close)."""
    import tempfile

    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.agents.runner import make_judge
    from resync_ext.llm import build_lm, local_engine_of

    data_dir = Path(os.environ.get("RESYNC_DATA_DIR") or Path(tempfile.gettempdir()) / "rb")
    lm = build_lm(
        data_dir=data_dir,
        cache=False,
        max_tokens=160,
        local_model_path=os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None,
    )
    registry = AgentRegistry(ROOT / "config" / "runtime.json")
    registry.load()
    return make_judge(registry.create_judge(), lm, history=False), local_engine_of(lm)


def _rows(name: str, s: dict[str, Any], params: dict[str, Any], base: Any = None) -> list[Any]:
    row = {"params": {**params, "tp": s["tp"], "fp": s["fp"], "fn": s["fn"]}}
    out = []
    for key in ("precision", "recall"):
        b = None if base is None else round(base[key], 3)
        out.append(
            {
                **row,
                "name": f"judge_{key}_{name}",
                "value": round(s[key], 3),
                "unit": "ratio",
                "baseline": b,
                "ratio": round(s[key] / b, 3) if b else None,
            }
        )
    print(
        f"   {name}: precision {s['precision']:.3f} recall {s['recall']:.3f} "
        f"missed {s['missed']} false flags {s['false_flags']}",
        file=sys.stderr,
    )
    return out


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure each judge on the labelled set."""
    from resync_ext.audit.judge import CheckedJudge

    rows: list[dict[str, Any]] = []
    for set_name, suffix in (("turns", ""), ("turns_heldout", "_heldout")):
        turns = load_set(set_name)
        params = {"set": set_name, "turns": len(turns)}
        params["planted"] = sum(1 for t in turns if t["label"] == "flag")
        for name, lm in (
            ("checks", None),
            ("scripted_doubt_claims", scripted("incorrect", 0.8, cite=True)),
            ("scripted_flag_all", scripted("incorrect", 0.8)),
            ("scripted_ok_all", scripted("ok", 0.9)),
        ):
            base = None
            if lm is not None:  # the scripted LM judging alone: what the checks change
                base = scores(turns, asyncio.run(judge_all(lm, turns))[0])
            flags, _ = asyncio.run(judge_all(CheckedJudge(lm), turns))
            rows += _rows(name + suffix, scores(turns, flags), params, base=base)
    if quick:
        return rows
    # The embedded model on the development set (43 verdicts, ~20 s each); the held-out set (79)
    # with RESYNC_BENCH_JUDGE_SET=turns_heldout, both with RESYNC_BENCH_JUDGE_SET=all.
    chosen = os.environ.get("RESYNC_BENCH_JUDGE_SET") or "turns"
    turns = load_set("turns") if chosen in ("turns", "all") else []
    if chosen in ("all", "turns_heldout") or os.environ.get("RESYNC_BENCH_JUDGE_ALL"):
        turns += load_set("turns_heldout")
    chosen = "all" if len(turns) > 79 else chosen
    params = {"set": chosen, "turns": len(turns)}
    params["planted"] = sum(1 for t in turns if t["label"] == "flag")
    from benchmarks.bench_llm import _available

    note = _available()
    if note:
        print(f"   bench_judge: embedded model skipped: {note}", file=sys.stderr)
        return rows
    lm_judge, engine = _embedded_judge()
    try:
        memo = Remembered(lm_judge)
        alone_flags, alone_s = asyncio.run(judge_all(memo, turns))
        # The checked judge asks the model the same questions: its verdicts are reused, so the
        # seconds per turn are the checks' plus the model's for the turns the checks leave to it.
        flags, per_turn = asyncio.run(judge_all(CheckedJudge(memo.timed), turns))
        per_turn += memo.lm_seconds_asked / max(len(turns), 1)
        confident = [c >= CONFIDENT for c in LAST_CONFIDENCES]
    finally:
        engine.close()
    alone = scores(turns, alone_flags)
    rows += _rows("embedded_lm_alone", alone, params)
    rows += _rows("embedded", scores(turns, flags), params, base=alone)
    # The queue sorted by confidence: the flags that rest on a check, not on the LM alone.
    rows += _rows("embedded_confident", scores(turns, confident), params, base=alone)
    rows.append(
        {
            "name": "judge_seconds_per_turn_embedded",
            "value": round(per_turn, 3),
            "unit": "s",
            "baseline": round(alone_s, 3),
            "ratio": round(per_turn / alone_s, 3) if alone_s else None,
            "params": {**params, "baseline_is": "the embedded model judging alone"},
        }
    )
    return rows
