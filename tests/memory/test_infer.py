"""Fact extraction (infer=True) through the workbench's LM adapter, with a scripted LM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from resync_ext.memory import create_memory_store


class ScriptedLM:
    """Stands in for a ``dspy.LM`` at the edge: returns canned completions, records prompts."""

    def __init__(self, completions: list[str]) -> None:
        self.completions = completions
        self.prompts: list[list[dict[str, Any]]] = []

    def __call__(self, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> list[str]:
        self.prompts.append(messages or [])
        return [self.completions.pop(0)]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_extracted_facts_are_remembered_and_the_lm_sees_no_secret(tmp_path: Path) -> None:
    fact = "PAYROLL_EXTRACT fails with ORA-01017 when the PAYDB credential expires."
    lm = ScriptedLM([json.dumps({"memory": [{"text": fact}]}), json.dumps({"memory": []})])
    store = create_memory_store(
        data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None, lm=lm, infer=True
    )
    await store.open()
    try:
        first = await store.add_turn(
            agent_id="tws-troubleshooter",
            question="Why did PAYROLL_EXTRACT fail? I use password=Hunter2secret there.",
            answer="ORA-01017: the PAYDB credential expired.",
            evidence=[],
        )
        nothing = await store.add_turn(
            agent_id="tws-troubleshooter", question="thanks", answer="You're welcome.", evidence=[]
        )
    finally:
        await store.close()
    assert first.text == fact
    assert first.metadata.question.startswith("Why did PAYROLL_EXTRACT fail?")
    assert first.state == "new"
    sent = json.dumps(lm.prompts)
    assert "PAYROLL_EXTRACT" in sent and "Hunter2secret" not in sent
    # Nothing extracted: the turn itself is kept, so no turn is ever lost.
    assert nothing.text == "Q: thanks\nA: You're welcome."
    assert len(lm.prompts) == 2
