"""The auditor's judge: the verdict names, the validated verdict, and the default judge.

A judge is anything awaitable as ``judge(question=, answer=, evidence=)`` that answers a
:class:`Verdict` (or the dict of one). ``ResyncApp.judge_class`` names the class the server builds
as ``judge_class(registry)``; the default, :class:`RegistryJudge`, is a
:class:`CheckedJudge`: the deterministic checks first
(``resync_ext.audit.checks``), then the judge program the agents configuration names
(``agents/judge.py``) on the judge's LM for what they cannot see.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel, Field, ValidationError

from resync_ext.agents.demos import JUDGE_DEMOS_ID
from resync_ext.agents.errors import JudgeOutputError
from resync_ext.agents.grounding import claims
from resync_ext.audit.checks import CheckReport, run_checks

if TYPE_CHECKING:
    from resync_ext.agents.registry import AgentRegistry

#: The judge's verdict names, the one list (the judge program, the auditor, the review queue).
VerdictName = Literal["ok", "suspicious", "incorrect"]
VERDICTS: tuple[VerdictName, ...] = get_args(VerdictName)


class Verdict(BaseModel):
    """The judge's validated answer."""

    verdict: VerdictName
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(min_length=1)


#: Confidence from which a doubtful verdict is filed for review (``audit_flag_confidence``). Every
#: finding of the checks reaches it; an LM-only doubt (at most 0.55) does not. Measured with the
#: embedded model (benchmarks/bench_judge.py): on the 43 turns of tests/judge_set the LM alone
#: doubted 21 of 22 correct answers (precision 0.49); on the 79 held-out turns the LM alone had
#: precision 0.50 and recall 0.87, the flags at this level precision 1.0 and recall 0.97.
FLAG_CONFIDENCE = 0.6


def is_flag(verdict: Verdict, flag_confidence: float = FLAG_CONFIDENCE) -> bool:
    """Tell whether ``verdict`` sends its memory to the review queue: a doubt ("suspicious" or
    "incorrect") at ``flag_confidence`` or more. A weaker doubt is kept on the memory (a reviewer
    sees it on a spot check), not queued."""
    return verdict.verdict != "ok" and verdict.confidence >= flag_confidence


@runtime_checkable
class Judge(Protocol):
    """Anything that judges one turn: the agents' judge program, or a scripted test judge."""

    def __call__(
        self, *, question: str, answer: str, evidence: list[Any]
    ) -> Awaitable[Verdict | dict[str, Any]]: ...


# An LM reason that says a claim lacks evidence ("X is not in the evidence", "no evidence of X").
_NO_EVIDENCE = re.compile(
    r"\b(?:not|never|nowhere)\b[^.]{0,40}\b(?:support\w*|shown|show|in the evidence|mention\w*|"
    r"present|appear\w*|found|back\w*)\b|\bno evidence\b|\bunsupported\b|\black\w* evidence\b"
    r"|\bwithout evidence\b",
    re.I,
)


def _coverage(report: CheckReport) -> float:
    """How much the checks could check: 0 with no claim, 1 from five claims on."""
    return min(report.claims_checked, 5) / 5


def refuted(report: CheckReport, lm: Verdict) -> bool:
    """Tell whether the LM's only complaint is that claims lack evidence, and the checks
    verified every claim it names against the evidence."""
    cited = {c.key for c in claims(lm.reason[:2000])}
    return bool(cited) and cited <= report.verified and bool(_NO_EVIDENCE.search(lm.reason))


def combine(report: CheckReport, lm: Verdict | None) -> Verdict:
    """The verdict from the checks' findings and the LM's verdict (None: not asked or failed).

    Calibration, from the most to the least certain evidence:

    - a contradiction, a different object or an action the assistant cannot take: "incorrect",
      0.92 for a status or return code the evidence contradicts, 0.9 for a claimed action, 0.85
      for a different object; +0.03 for each further finding (at most 0.98). The LM is not asked:
      it could only be wrong about it.
    - unsupported claims alone: "suspicious", 0.6 + 0.05 per claim (up to four), +0.1 when the
      LM also doubts the answer, -0.05 when it finds it fine;
    - nothing found: the LM weighs what remains (the cause, the advice, its safety). Its doubt
      ("suspicious" or "incorrect") makes the verdict "suspicious" at 0.25 + 0.3 x its
      confidence x (1 - 0.5 x coverage) (coverage: 0 with no checkable claim, 1 from five on; at
      most 0.55: under :data:`FLAG_CONFIDENCE`, so a small model's doubt alone is recorded on the
      memory but neither queues nor removes it; a capable judge LM can be trusted with the queue
      by lowering ``audit_flag_confidence``), unless its reason only
      says that claims lack evidence and names claims the checks verified (:func:`refuted`):
      then, and for its "ok", the verdict is "ok", at 0.45 + 0.1 x coverage after a refuted doubt,
      0.55 + 0.2 x coverage + 0.2 x its confidence after an "ok". Without an LM: "ok" at
      0.5 + 0.4 x coverage.

    The labelled set (tests/judge_set, ``python -m benchmarks.run --only judge``) measures what
    this table makes of the checks alone and of scripted LMs; the issue's small model said
    "incorrect" or "suspicious" at 0.8 for every answer.
    """
    hard = report.of("status", "object", "unsafe")
    if hard:
        base = max({"status": 0.92, "unsafe": 0.9, "object": 0.85}[f.kind] for f in hard)
        extra = len(report.findings) - 1
        confidence = min(0.98, base + 0.03 * extra)
        return Verdict(verdict="incorrect", confidence=round(confidence, 3), reason=report.reason)
    unsupported = report.of("unsupported")
    if unsupported:
        confidence = 0.6 + 0.05 * min(len(unsupported), 4)
        reason = report.reason
        if lm is not None:
            confidence += 0.1 if lm.verdict != "ok" else -0.05
            reason += f" LM judge: {lm.verdict} ({lm.reason})"
        return Verdict(verdict="suspicious", confidence=round(confidence, 3), reason=reason)
    cov = _coverage(report)
    checked = f"All {report.claims_checked} checkable claims match the evidence."
    if lm is None:
        return Verdict(verdict="ok", confidence=round(0.5 + 0.4 * cov, 3), reason=checked)
    if lm.verdict != "ok" and not refuted(report, lm):
        return Verdict(
            verdict="suspicious",
            confidence=round(0.25 + 0.3 * lm.confidence * (1 - 0.5 * cov), 3),
            reason=f"{checked} The LM judge finds it {lm.verdict}: {lm.reason}",
        )
    if lm.verdict != "ok":
        return Verdict(
            verdict="ok",
            confidence=round(0.45 + 0.1 * cov, 3),
            reason=f"{checked} The LM judge's doubt names only verified claims: {lm.reason}",
        )
    confidence = 0.55 + 0.2 * cov + 0.2 * lm.confidence
    return Verdict(verdict="ok", confidence=round(confidence, 3), reason=f"{checked} {lm.reason}")


class CheckedJudge:
    """Judge a turn by the deterministic checks first, asking ``lm_judge`` only what remains.

    ``lm_judge`` is any :class:`Judge` (None: the checks alone). Its unparseable answer raises
    JudgeOutputError only when the checks found nothing to go on (the auditor retries); when
    they found something, the verdict stands on them.
    """

    def __init__(self, lm_judge: Judge | None = None) -> None:
        self.lm_judge = lm_judge

    async def __call__(
        self, *, question: str, answer: str, evidence: list[Any]
    ) -> Verdict | dict[str, Any]:
        """Judge one remembered turn."""
        report = await asyncio.to_thread(run_checks, question, answer, evidence)
        if report.of("status", "object", "unsafe") or self.lm_judge is None:
            return combine(report, None)
        try:
            raw = await self.lm_judge(question=question, answer=answer, evidence=evidence)
            lm = raw if isinstance(raw, Verdict) else Verdict.model_validate(raw)
        except (JudgeOutputError, ValidationError, ValueError):
            if not report.findings:
                raise
            lm = None
        return combine(report, lm)


class LMJudge:
    """Ask the configured judge program (agents/judge.py) on the judge's LM, alone."""

    def __init__(self, registry: AgentRegistry) -> None:
        self.registry = registry

    async def __call__(
        self, *, question: str, answer: str, evidence: list[Any]
    ) -> Verdict | dict[str, Any]:
        """Judge one remembered turn (an unparseable answer raises JudgeOutputError)."""
        from resync_ext.agents.runner import make_judge

        # Never from DSPy's response cache: a garbage verdict must not be served again to the
        # retry or to the next pass (a shallow copy: the model itself is shared, not reloaded).
        lm = self.registry.lm_for(None).copy(cache=False)
        program = self.registry.create_judge()
        if self.registry.demos is not None:  # reviewers' rejections, as counter-examples
            self.registry.demos.apply(JUDGE_DEMOS_ID, program)
        judge = make_judge(program, lm, history=False)
        return await judge(question=question, answer=answer, evidence=evidence)


class RegistryJudge(CheckedJudge):
    """The server's default judge: the deterministic checks, then the configured LM judge."""

    def __init__(self, registry: AgentRegistry) -> None:
        super().__init__(LMJudge(registry))
        self.registry = registry
