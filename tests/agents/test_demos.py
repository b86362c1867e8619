"""Learning from review: approved turns (only) become demos, saved and applied at build time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.demos import DemoStore
from resync_ext.agents.registry import AgentRegistry
from resync_ext.agents.runner import run_agent_streaming
from tests.agents.conftest import ROOT


def _memory(
    mid: str,
    state: str,
    question: str,
    agent: str = "tws-troubleshooter",
    created: str = "2026-11-24T07:00:00Z",
) -> dict[str, Any]:
    return {
        "id": mid,
        "created_at": created,
        "metadata": {
            "agent_id": agent,
            "state": state,
            "question": question,
            "answer": f"Cause: answer to {question}",
            "evidence": [
                {"tool": "get_job", "args": {"job": "X"}, "summary": f"evidence for {mid}"}
            ],
        },
    }


MEMORIES = [
    _memory("m1", "approved", "Why did LOAD_SALES fail?", created="2026-11-24T06:00:00Z"),
    _memory("m2", "rejected", "Why did REJECTED_JOB fail?"),
    _memory("m3", "flagged", "Why did FLAGGED_JOB fail?"),
    _memory("m4", "approved", "Why did ANALYZER_JOB fail?", agent="tws-analyzer"),
    _memory("m5", "approved", "Why did NEWEST_JOB fail?", created="2026-11-24T07:10:00Z"),
]


@pytest.mark.asyncio
async def test_approved_turns_become_demos_that_reach_the_prompt(
    tmp_path: Path, unknown_tools: Any
) -> None:
    store = DemoStore(tmp_path)
    registry = AgentRegistry(ROOT / "config" / "runtime.json", demos=store)
    registry.load()
    counts = store.rebuild_all(registry, unknown_tools, MEMORIES)
    # auto learns nothing itself: its turns are remembered under the agent that answered.
    assert counts == {"auto": 0, "tws-troubleshooter": 2, "tws-analyzer": 1}
    assert store.path("tws-troubleshooter").exists()

    # A fresh registry (a restart) applies the saved demos when it builds the program.
    fresh = AgentRegistry(ROOT / "config" / "runtime.json", demos=DemoStore(tmp_path))
    fresh.load()
    agent = fresh.create("tws-troubleshooter", unknown_tools)
    assert [d.question for d in agent.explain.demos] == [
        "Why did NEWEST_JOB fail?",
        "Why did LOAD_SALES fail?",
    ]
    lm = DummyLM([{"answer": "Cause: ok"}], adapter=compact_adapter())
    await run_agent_streaming(agent, lm, question="Why did PAYROLL_EXTRACT fail?")
    prompt = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "evidence for m5" in prompt and "Cause: answer to Why did LOAD_SALES fail?" in prompt
    assert "REJECTED_JOB" not in prompt and "FLAGGED_JOB" not in prompt


def test_rebuild_without_approved_turns_removes_old_demos(tmp_path: Path, tools: Any) -> None:
    store = DemoStore(tmp_path)
    registry = AgentRegistry(ROOT / "config" / "runtime.json", demos=store)
    registry.load()
    store.rebuild_all(registry, tools, MEMORIES)
    assert (
        store.rebuild(
            "tws-troubleshooter",
            registry.create("tws-troubleshooter", tools),
            [m for m in MEMORIES if m["metadata"]["state"] != "approved"],
        )
        == 0
    )
    assert not store.path("tws-troubleshooter").exists()
    assert registry.create("tws-troubleshooter", tools).explain.demos == []
