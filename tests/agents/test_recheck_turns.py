"""Re-check over turns the real agents just answered: on the same plan nothing has changed.

A reviewer re-checks a card to see what changed since the answer; a false "changed" (a summary
recorded cut short, a full stop, the clock moving on) would teach them to ignore the list.
"""

from __future__ import annotations

from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.runner import run_agent_streaming
from resync_ext.audit.recheck import MAX_CALLS, recheck

EXPLAIN = "Why: see the facts above.\nNext steps:\n1. Follow the runbook."


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("agent_id", "question"),
    [
        ("tws-troubleshooter", "Why did PAYROLL_EXTRACT fail last night?"),
        ("tws-troubleshooter", "Why is AGT_WIN02 not running anything?"),
        ("tws-analyzer", "What failed tonight and what should I fix first?"),
    ],
)
async def test_a_fresh_turn_rechecks_with_no_change(
    registry: Any, tools: dict[str, Any], agent_id: str, question: str
) -> None:
    lm = DummyLM([{"answer": EXPLAIN}] * 4, adapter=compact_adapter())
    agent = registry.create(agent_id, tools)
    result = await run_agent_streaming(agent, lm, question=question)
    assert result.evidence
    out = await recheck(result.evidence, tools)
    recorded = [e for e in result.evidence if e.get("tool") in tools]
    assert out["calls"] == min(len(recorded), MAX_CALLS)
    assert out["changes"] == []
