"""The auditor's judge: is a remembered answer supported, correct for HWA, and safe?"""

from __future__ import annotations

from typing import Any

import dspy

from resync_ext.agents.errors import JudgeOutputError
from resync_ext.agents.evidence import evidence_lines
from resync_ext.audit.judge import VERDICTS, VerdictName


class JudgeAnswer(dspy.Signature):
    """Audit an answer given to an HCL Workload Automation (TWS) operator.
    Check: (1) supported: every job name, status, return code and error in the answer appears in
    the evidence; (2) correct: the cause and steps fit HWA (ABEND = job failed, HOLD = waiting on
    dependencies, READY = waiting for agent, limit, fence or resource); (3) safe: it never says an
    action (rerun, cancel, release, kill) was done, nor urges one without saying to confirm first.
    verdict: ok if all hold, suspicious if a claim lacks evidence, incorrect if it contradicts the
    evidence or is unsafe. The reason names the claim or the step at fault."""

    question: str = dspy.InputField()
    answer: str = dspy.InputField()
    evidence: str = dspy.InputField(desc="TWS tool calls made for the answer")
    verdict: VerdictName = dspy.OutputField()
    confidence: float = dspy.OutputField(desc="0 to 1")
    reason: str = dspy.OutputField(desc="one sentence naming the claim or step at fault")


class Judge(dspy.Module):
    """Judge one remembered turn; raise JudgeOutputError when the verdict does not parse."""

    def __init__(self, max_tokens: int = 160) -> None:
        super().__init__()
        self.judge = dspy.Predict(JudgeAnswer, max_tokens=max_tokens)

    async def aforward(
        self, question: str, answer: str, evidence: list[dict[str, Any]] | str
    ) -> dspy.Prediction:
        text = evidence if isinstance(evidence, str) else "\n".join(evidence_lines(evidence))
        # JSON with the output schema: a local engine turns it into a grammar, so it parses.
        with dspy.context(adapter=dspy.JSONAdapter()):
            try:
                out = await self.judge.acall(
                    question=question, answer=answer, evidence=text or "(no tool was called)"
                )
            except (dspy.utils.exceptions.AdapterParseError, ValueError) as e:
                raise JudgeOutputError(str(e)[:300]) from e
        return validate(out)

    def forward(
        self, question: str, answer: str, evidence: list[dict[str, Any]] | str
    ) -> dspy.Prediction:
        text = evidence if isinstance(evidence, str) else "\n".join(evidence_lines(evidence))
        with dspy.context(adapter=dspy.JSONAdapter()):
            try:
                out = self.judge(
                    question=question, answer=answer, evidence=text or "(no tool was called)"
                )
            except (dspy.utils.exceptions.AdapterParseError, ValueError) as e:
                raise JudgeOutputError(str(e)[:300]) from e
        return validate(out)


def validate(out: Any) -> dspy.Prediction:
    """Check the verdict, confidence (0..1; a 0..100 percentage is scaled) and reason."""
    verdict = str(getattr(out, "verdict", "") or "").strip().lower()
    if verdict not in VERDICTS:
        raise JudgeOutputError(f"verdict {verdict!r} is not one of {VERDICTS}")
    try:
        confidence = float(out.confidence)
    except (TypeError, ValueError) as e:
        raise JudgeOutputError(f"confidence {out.confidence!r} is not a number") from e
    if 1.0 < confidence <= 100.0:
        confidence /= 100.0
    if not 0.0 <= confidence <= 1.0:
        raise JudgeOutputError(f"confidence {confidence} is outside 0..1")
    reason = " ".join(str(getattr(out, "reason", "") or "").split())
    if not reason:
        raise JudgeOutputError("empty reason")
    return dspy.Prediction(verdict=verdict, confidence=confidence, reason=reason)
