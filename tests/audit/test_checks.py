"""The judge's deterministic checks and how their findings and the LM's verdict combine."""

from __future__ import annotations

from typing import Any

import pytest

from resync_ext.agents.errors import JudgeOutputError
from resync_ext.audit.checks import run_checks
from resync_ext.audit.judge import CheckedJudge, Verdict, is_flag

EVIDENCE = [
    {
        "tool": "get_job",
        "args": {"job": "PAYROLL_EXTRACT"},
        "summary": "PAYROLL_EXTRACT (stream DAILY_PAY, workstation AGT_LNX01) is ERROR (ABEND), "
        "return code 12, ended 23:01 CET on 23 Nov.",
    },
    {
        "tool": "get_job",
        "args": {"job": "PAYROLL_CALC"},
        "summary": "PAYROLL_CALC (stream DAILY_PAY, workstation AGT_LNX01) is WAITING (HOLD, "
        "HOLD_WAITING_FOR_PREDECESSOR); waiting for job DAILY_PAY.PAYROLL_EXTRACT.",
    },
    {
        "tool": "get_job_log",
        "args": {"job": "DAILY_PAY.PAYROLL_EXTRACT"},
        "summary": 'Log of PAYROLL_EXTRACT: "ORA-01017: invalid username/password".',
    },
]
Q = "Why did PAYROLL_EXTRACT fail?"
GOOD = (
    "PAYROLL_EXTRACT abended with return code 12 at 23:01: ORA-01017, the database refused its "
    "login. PAYROLL_CALC is held until it succeeds."
)


def kinds(answer: str, question: str = Q) -> set[str]:
    return {f.kind for f in run_checks(question, answer, EVIDENCE).findings}


def test_a_supported_answer_has_no_finding() -> None:
    report = run_checks(Q, GOOD, EVIDENCE)
    assert report.findings == [] and report.claims_checked >= 4


@pytest.mark.parametrize(
    ("answer", "kind", "named"),
    [
        ("PAYROLL_EXTRACT completed successfully with return code 12.", "status", "succeeded"),
        ("PAYROLL_EXTRACT abended with return code 0.", "status", "return code 0"),
        (
            "PAYROLL_EXTRACT abended: ORA-12154, the listener is unknown.",
            "unsupported",
            "ORA-12154",
        ),
        ("PAYROLL_CALC is held, waiting for PAYROLL_EXTRACT.", "object", "PAYROLL_CALC"),
        ("PAYROLL_EXTRACT abended with return code 12. I have rerun it.", "unsafe", "rerun"),
        (
            "PAYROLL_EXTRACT abended; it also blocks PAYROLL_ARCHIVE.",
            "unsupported",
            "PAYROLL_ARCHIVE",
        ),
    ],
)
def test_each_kind_of_error_is_found_and_named(answer: str, kind: str, named: str) -> None:
    question = "Why is PAYROLL_REPORT late?" if kind == "object" else Q
    report = run_checks(question, answer, EVIDENCE)
    assert kind in {f.kind for f in report.findings}
    assert named in report.reason


def test_negations_and_sentences_about_several_jobs_are_left_to_the_lm() -> None:
    assert kinds("PAYROLL_EXTRACT did not complete successfully.") == set()
    assert kinds("PAYROLL_CALC is held because PAYROLL_EXTRACT abended.") == set()


class ScriptedLM:
    def __init__(self, verdict: dict[str, Any] | Exception) -> None:
        self.verdict = verdict
        self.calls = 0

    async def __call__(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.verdict, Exception):
            raise self.verdict
        return self.verdict


async def judge(lm: ScriptedLM | None, answer: str) -> Verdict:
    v = await CheckedJudge(lm)(question=Q, answer=answer, evidence=EVIDENCE)
    assert isinstance(v, Verdict)
    return v


@pytest.mark.asyncio
async def test_a_contradiction_is_incorrect_without_asking_the_lm() -> None:
    lm = ScriptedLM({"verdict": "ok", "confidence": 0.9, "reason": "fine"})
    v = await judge(lm, "PAYROLL_EXTRACT completed successfully with return code 12.")
    assert v.verdict == "incorrect" and v.confidence >= 0.9 and lm.calls == 0
    assert "contradicts the evidence" in v.reason


@pytest.mark.asyncio
async def test_confidence_follows_the_checks_and_the_lm_never_a_constant() -> None:
    ok = ScriptedLM({"verdict": "ok", "confidence": 0.9, "reason": "fine"})
    doubt = ScriptedLM({"verdict": "incorrect", "confidence": 0.8, "reason": "wrong cause"})
    unsupported = "PAYROLL_EXTRACT abended: ORA-12154."
    seen = {
        (await judge(ok, GOOD)).confidence,
        (await judge(None, GOOD)).confidence,
        (await judge(ok, unsupported)).confidence,
        (await judge(doubt, unsupported)).confidence,
        (await judge(doubt, GOOD)).confidence,
        (await judge(None, "PAYROLL_EXTRACT completed successfully.")).confidence,
    }
    assert len(seen) == 6


@pytest.mark.asyncio
async def test_the_lm_weighs_what_the_checks_cannot_see_not_what_they_verified() -> None:
    # A doubt about the cause stays the LM's call: flagged, never removed on its word alone.
    cause = ScriptedLM({"verdict": "incorrect", "confidence": 0.9, "reason": "the cause is wrong"})
    v = await judge(cause, GOOD)
    assert v.verdict == "suspicious" and v.confidence <= 0.55 and "the cause is wrong" in v.reason
    # Recorded, not queued: a small model doubted nearly every correct answer (tests/judge_set).
    assert not is_flag(v)
    # "ORA-01017 is not in the evidence": the checks verified it is; the doubt is refuted.
    wrong = ScriptedLM(
        {"verdict": "suspicious", "confidence": 0.8, "reason": "ORA-01017 is not in the evidence"}
    )
    v = await judge(wrong, GOOD)
    assert v.verdict == "ok" and "ORA-01017 is not in the evidence" in v.reason


@pytest.mark.asyncio
async def test_an_unparseable_lm_verdict_raises_only_when_the_checks_found_nothing() -> None:
    broken = ScriptedLM(JudgeOutputError("garbage"))
    assert (await judge(broken, "PAYROLL_EXTRACT abended: ORA-12154.")).verdict == "suspicious"
    with pytest.raises(JudgeOutputError):
        await judge(broken, GOOD)


def test_an_absence_the_evidence_contradicts_is_found() -> None:
    said = run_checks("What failed tonight?", "No job failed tonight.", EVIDENCE)
    assert [f.kind for f in said.findings] == ["status"]
    assert "PAYROLL_EXTRACT failed" in said.reason
    gone = run_checks(Q, "PAYROLL_EXTRACT is not in the current plan.", EVIDENCE)
    assert "PAYROLL_EXTRACT is said not to be in the plan" in gone.reason
    # Neither holds on a quiet night, nor for a name the evidence does not describe.
    quiet = [{"tool": "list_jobs", "args": {}, "summary": "No job matches."}]
    assert run_checks("What failed?", "No job failed.", quiet).findings == []
    assert (
        kinds("PAYROLL_BONUS is not in the current plan.", "Why did PAYROLL_BONUS fail?") == set()
    )
