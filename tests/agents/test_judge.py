"""The auditor's judge: verdict before reason, validated, typed error on bad output."""

from __future__ import annotations

import dspy
import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.errors import JudgeOutputError
from resync_ext.agents.runner import make_judge
from tests.agents.programs import load_judge

EVIDENCE = [
    {
        "tool": "get_job_log",
        "args": {"job": "PAYROLL_EXTRACT"},
        "summary": "Log of PAYROLL_EXTRACT: ORA-01017: invalid username/password.",
    }
]


def _lm(**out: object) -> DummyLM:
    return DummyLM([out], adapter=dspy.JSONAdapter())


@pytest.mark.asyncio
async def test_judge_returns_a_validated_verdict_from_the_evidence() -> None:
    lm = _lm(verdict="ok", confidence=0.8, reason="The log shows ORA-01017.")
    judge = make_judge(load_judge()(), lm)
    out = await judge(question="Why?", answer="Bad DB password (ORA-01017).", evidence=EVIDENCE)
    assert out == {"verdict": "ok", "confidence": 0.8, "reason": "The log shows ORA-01017."}
    prompt = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "get_job_log" in prompt and "ORA-01017" in prompt
    assert prompt.index('"verdict"') < prompt.index('"reason"')


@pytest.mark.asyncio
async def test_percent_confidence_is_scaled() -> None:
    judge = make_judge(load_judge()(), _lm(verdict="suspicious", confidence=85, reason="r"))
    out = await judge(question="q", answer="a", evidence=[])
    assert out["confidence"] == pytest.approx(0.85)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "out",
    [
        {"verdict": "maybe", "confidence": 0.5, "reason": "r"},
        {"verdict": "ok", "confidence": -1, "reason": "r"},
        {"verdict": "ok", "confidence": 0.5, "reason": "  "},
    ],
)
async def test_invalid_verdicts_raise_a_typed_error(out: dict[str, object]) -> None:
    judge = make_judge(load_judge()(), _lm(**out))
    with pytest.raises(JudgeOutputError) as err:
        await judge(question="q", answer="a", evidence=EVIDENCE)
    assert isinstance(err.value, ValueError)  # the auditor's retry-once catches ValueError


@pytest.mark.asyncio
async def test_unparseable_output_raises_a_typed_error() -> None:
    lm = DummyLM([{"text": "I think it is fine"}], adapter=dspy.ChatAdapter())
    judge = make_judge(load_judge()(), lm)
    with pytest.raises(JudgeOutputError):
        await judge(question="q", answer="a", evidence=EVIDENCE)


@pytest.mark.asyncio
async def test_the_servers_judge_keeps_no_lm_history() -> None:
    from dspy.clients.base_lm import GLOBAL_HISTORY

    lm = _lm(verdict="ok", confidence=0.8, reason="r")
    before = len(GLOBAL_HISTORY)
    judge = make_judge(load_judge()(), lm, history=False)
    assert (await judge(question="q", answer="a", evidence=[]))["verdict"] == "ok"
    # A long-running server has no reader for DSPy's histories: nothing piles up there.
    assert lm.history == [] and len(GLOBAL_HISTORY) == before
