"""Review teaches per question (issue 19): the demos a turn sees are chosen for its question, a
corrected turn teaches its corrected answer, and reasoned rejections teach the judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dspy
import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.demos import (
    JUDGE_DEMOS_ID,
    DemoStore,
    approved_examples,
    counter_examples,
)
from resync_ext.agents.registry import AgentRegistry
from resync_ext.agents.runner import make_judge, run_agent_streaming
from tests.agents.conftest import ROOT


def memory(mid: str, state: str, question: str, **review: Any) -> dict[str, Any]:
    return {
        "id": mid,
        "created_at": f"2026-11-24T07:0{mid[-1]}:00Z",
        "metadata": {
            "agent_id": "tws-troubleshooter",
            "state": state,
            "question": question,
            "answer": f"Original answer to {question}",
            "evidence": [{"tool": "get_job", "args": {}, "summary": f"evidence for {mid}"}],
            "review": {"by": "alice", "at": "2026-11-24T08:00:00Z", **review} if review else None,
        },
    }


def test_a_corrected_turn_teaches_its_corrected_answer() -> None:
    rows = approved_examples(
        [memory("m1", "approved", "Q1", corrected_answer="The corrected answer.")],
        "tws-troubleshooter",
    )
    assert rows[0]["answer"] == "The corrected answer." and rows[0]["memory_id"] == "m1"


@pytest.mark.asyncio
async def test_the_demos_a_turn_sees_are_chosen_for_its_question(
    tmp_path: Path, unknown_tools: Any
) -> None:
    store = DemoStore(tmp_path)
    registry = AgentRegistry(ROOT / "config" / "runtime.json", demos=store)
    registry.load()
    # The saved (newest) demos are other turns; the chooser (the memory store's similarity
    # search, in the server) picks the corrected one for a question like it.
    store.rebuild_all(registry, unknown_tools, [memory("m1", "approved", "Is AGT_WIN02 ok?")])
    chosen = approved_examples(
        [memory("m2", "approved", "Why did PAYROLL_EXTRACT abend?", corrected_answer="ORA-01017")],
        "tws-troubleshooter",
    )
    asked: list[tuple[str, str]] = []

    async def chooser(agent_id: str, question: str) -> list[dict[str, Any]] | None:
        asked.append((agent_id, question))
        return chosen if "PAYROLL" in question else None

    store.chooser = chooser
    agent = registry.create("tws-troubleshooter", unknown_tools)
    lm = DummyLM([{"answer": "Cause: ok"}], adapter=compact_adapter())
    await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    prompt = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert asked == [("tws-troubleshooter", "Why did PAYROLL_EXTRACT fail?")]
    assert "evidence for m2" in prompt and "ORA-01017" in prompt
    assert "AGT_WIN02" not in prompt  # the newest saved demo was not the one chosen
    # A question nothing approved is near keeps the saved demos.
    other = registry.create("tws-troubleshooter", unknown_tools)
    lm2 = DummyLM([{"answer": "Cause: ok"}], adapter=compact_adapter())
    await run_agent_streaming(other, lm2, question="Is AGT_LNX01 ok?")
    assert "AGT_WIN02" in " ".join(m["content"] for m in lm2.history[-1]["messages"])


@pytest.mark.asyncio
async def test_reasoned_rejections_become_the_judges_counter_examples(tmp_path: Path) -> None:
    memories = [
        memory("m1", "rejected", "Why did LOAD_SALES fail?", comment="the log says ENOSPC"),
        memory("m2", "rejected", "Why did GL_POST wait?"),  # no reason: teaches nothing
        memory("m3", "approved", "Is AGT_WIN02 ok?", comment="fine"),
    ]
    examples = counter_examples(memories)
    assert [e["reason"] for e in examples] == ["the log says ENOSPC"]
    assert examples[0]["verdict"] == "incorrect" and "evidence for m1" in examples[0]["evidence"]

    store = DemoStore(tmp_path)
    registry = AgentRegistry(ROOT / "config" / "runtime.json", demos=store)
    registry.load()
    program = registry.create_judge()
    for _, predictor in program.named_predictors():
        inputs = list(predictor.signature.input_fields)
        predictor.demos = [dspy.Example(**e).with_inputs(*inputs) for e in examples]
    store.save(JUDGE_DEMOS_ID, program)

    fresh = registry.create_judge()
    assert store.apply(JUDGE_DEMOS_ID, fresh) == 1
    verdict = {"verdict": "ok", "confidence": 0.9, "reason": "supported"}
    lm = DummyLM([verdict], adapter=dspy.JSONAdapter())
    await make_judge(fresh, lm, history=True)(question="Q", answer="A", evidence=[])
    prompt = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "the log says ENOSPC" in prompt
