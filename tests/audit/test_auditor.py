"""The auditor over the real embedded memory store, with a scripted judge."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.errors import JudgeOutputError
from resync_ext.audit.auditor import Auditor
from resync_ext.audit.review_queue import ReviewQueue
from resync_ext.audit.service import AuditService

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


class ScriptedJudge:
    """Answers by the question's first word; counts calls per question."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay
        self.failures: dict[str, int] = {}

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        self.calls.append(question)
        await asyncio.sleep(self.delay)
        word = question.split()[0]
        if self.failures.get(question, 0) > 0:
            self.failures[question] -= 1
            raise JudgeOutputError(
                "verdict 'maybe' is not one of ('ok', 'suspicious', 'incorrect')"
            )
        if word == "good":
            return {"verdict": "ok", "confidence": 0.9, "reason": "supported by the log"}
        if word == "doubtful":
            return {"verdict": "suspicious", "confidence": 0.6, "reason": "claim not in evidence"}
        if word == "wrong":
            return {"verdict": "incorrect", "confidence": 0.97, "reason": "contradicts the log"}
        return {"verdict": "incorrect", "confidence": 0.5, "reason": "probably wrong"}


async def add(store: Any, question: str) -> str:
    m = await store.add_turn(
        agent_id="tws-troubleshooter",
        question=question,
        answer="PAYROLL_EXTRACT abended with ORA-01017",
        evidence=[
            {"tool": "get_job_log", "args": {"job": "PAYROLL_EXTRACT"}, "summary": "ORA-01017"}
        ],
    )
    return str(m.id)


def make(store: Any, tmp_path: Path, judge: Any) -> tuple[Auditor, ReviewQueue]:
    queue = ReviewQueue(tmp_path)
    auditor = Auditor(
        store, judge, queue, reject_confidence=0.9, events_path=tmp_path / "audit" / "passes.jsonl"
    )
    return auditor, queue


async def test_each_verdict_sets_state_and_files_doubtful_ones(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    ids = {
        w: await add(store, f"{w} question about PAYROLL_EXTRACT")
        for w in ("good", "doubtful", "wrong", "unsure")
    }
    auditor, queue = make(store, tmp_path, ScriptedJudge())
    summary = await auditor.run_pass()
    assert (summary.audited, summary.ok, summary.flagged, summary.rejected, summary.errors) == (
        4,
        2,
        1,
        1,
        0,
    )
    states = {w: (await store.get(i)).metadata.state for w, i in ids.items()}
    # A doubt under the flag confidence (0.6) is kept, its verdict recorded for spot checks.
    assert states == {
        "good": "audited_ok",
        "doubtful": "flagged",
        "wrong": "rejected_by_auditor",
        "unsure": "audited_ok",
    }
    kept = (await store.get(ids["unsure"])).metadata.audit
    assert (kept.verdict, kept.confidence, kept.reason) == ("incorrect", 0.5, "probably wrong")
    assert summary.batch is not None
    batch = await queue.get_batch(summary.batch)
    assert {i.memory_id for i in batch.items} == {ids["doubtful"]}
    item = next(i for i in batch.items if i.memory_id == ids["doubtful"])
    assert (item.verdict, item.confidence, item.reason) == (
        "suspicious",
        0.6,
        "claim not in evidence",
    )
    assert item.evidence[0]["tool"] == "get_job_log"
    audit = (await store.get(ids["wrong"])).metadata.audit
    assert audit.verdict == "incorrect" and audit.confidence == 0.97
    hits = await store.search("wrong question about PAYROLL_EXTRACT", limit=10)
    assert ids["wrong"] not in {h.id for h in hits}
    # Judged once: a second pass finds nothing new and calls no judge.
    judge2 = ScriptedJudge()
    auditor.judge = judge2
    again = await auditor.run_pass()
    assert again.audited == 0 and judge2.calls == [] and again.batch is None
    assert len(auditor.history()) == 2


async def test_unparseable_verdict_is_retried_once_then_left_new(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    once = await add(store, "good once-flaky question")
    always = await add(store, "good always-broken question")
    judge = ScriptedJudge()
    judge.failures = {"good once-flaky question": 1, "good always-broken question": 99}
    auditor, _ = make(store, tmp_path, judge)
    summary = await auditor.run_pass()
    assert (summary.audited, summary.errors) == (1, 1)
    assert (await store.get(once)).metadata.state == "audited_ok"
    assert (await store.get(always)).metadata.state == "new"
    assert judge.calls.count("good always-broken question") == 2


async def test_two_concurrent_passes_never_judge_a_memory_twice(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    ids = [await add(store, f"doubtful question {n}") for n in range(6)]
    judge = ScriptedJudge(delay=0.05)
    auditor, queue = make(store, tmp_path, judge)
    first, second = await asyncio.gather(auditor.run_pass(), auditor.audit_memory(ids[0]))
    assert sorted(judge.calls) == sorted(f"doubtful question {n}" for n in range(6))
    assert first.audited + second.audited == 6
    filed = await queue.memory_ids()
    assert filed == set(ids)


async def test_a_crash_between_state_and_batch_loses_nothing(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    orphan = await add(store, "doubtful orphan")
    # As if the process died after the state change and before the batch write.
    await store.set_state(
        orphan,
        "flagged",
        expect={"new"},
        audit={"verdict": "suspicious", "confidence": 0.4, "reason": "odd"},
    )
    judge = ScriptedJudge()
    auditor, queue = make(store, tmp_path, judge)
    summary = await auditor.run_pass()
    assert judge.calls == []  # not judged again
    assert summary.batch is not None
    [item] = (await queue.get_batch(summary.batch)).items
    assert (item.memory_id, item.reason) == (orphan, "odd")


async def test_a_decision_recorded_before_a_crash_is_reapplied(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    mid = await add(store, "doubtful decided")
    auditor, queue = make(store, tmp_path, ScriptedJudge())
    await auditor.run_pass()
    # The decision reached the batch file, the process died before the memory changed.
    await queue.decide(mid, "reject", user="alice", comment="wrong job")
    assert (await store.get(mid)).metadata.state == "flagged"
    service = AuditService(store, queue, auditor)
    assert await service.reconcile() == 1
    memory = await store.get(mid)
    assert memory.metadata.state == "rejected"
    assert memory.metadata.review.by == "alice" and memory.metadata.review.comment == "wrong job"
    assert await service.reconcile() == 0
    metrics = await service.metrics()
    assert metrics["by_state"]["rejected"] == 1
    assert metrics["decisions"] == {"rejected": 1}


async def test_the_flag_confidence_decides_what_reaches_the_queue(
    empty_store: Any, tmp_path: Path
) -> None:
    # The same weak doubt (incorrect at 0.5): kept at the default, queued when a team trusts its
    # judge LM with a lower flag confidence.
    for flag_confidence, state in ((0.6, "audited_ok"), (0.5, "flagged")):
        memory_id = await add(empty_store, f"unsure question {flag_confidence}")
        queue = ReviewQueue(tmp_path / str(flag_confidence))
        auditor = Auditor(empty_store, ScriptedJudge(), queue, flag_confidence=flag_confidence)
        await auditor.audit_memory(memory_id)
        assert (await empty_store.get(memory_id)).metadata.state == state
        assert (memory_id in await queue.memory_ids()) == (state == "flagged")
