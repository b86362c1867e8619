"""An audit pass on the one local model while chat keeps asking: chat goes first, the pass still
finishes. The real auditor and judge program over the real embedded memory store; llama.cpp is
replaced at its edge by the scripted model of tests/llm/test_priority.py (its prompt read through
``eval``, tokens one by one)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.runner import make_judge
from resync_ext.audit.auditor import Auditor
from resync_ext.audit.review_queue import ReviewQueue
from resync_ext.llm.priority import BackgroundJudge, ChatActivity, PriorityGate
from tests.agents.conftest import registry
from tests.audit.conftest import empty_store, store
from tests.llm.test_priority import ReadsItsPrompt, _call, _engine, _lm

__all__ = ["empty_store", "registry", "store"]

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

VERDICT = '{"verdict": "ok", "confidence": 0.9, "reason": "the log shows it"}'


class Model(ReadsItsPrompt):
    """Verdicts for the judge's prompts, a short answer for the chat's."""

    judged = 0  # judge prompts started (one interrupted by chat is started again)

    def create_chat_completion(self, **kwargs: Any) -> Any:
        judging = "verdict" in str(kwargs["messages"][0]["content"])
        self.judged += judging
        self.text = VERDICT if judging else "Why: the password was refused."
        yield from super().create_chat_completion(**kwargs)


async def test_an_audit_pass_finishes_while_chat_turns_keep_coming(
    empty_store: Any, registry: Any, tmp_path: Path
) -> None:
    activity = ChatActivity()
    # A short deferral window, as a test can afford: chat never pauses long enough for it, so
    # the judge runs only once it has waited max_defer_s, between two chat calls.
    gate = PriorityGate(activity, defer_s=5.0, max_defer_s=0.5)
    model = Model(8)
    lm = _lm(_engine(model, gate))
    judge = BackgroundJudge(make_judge(registry.create_judge(), lm, history=False))
    auditor = Auditor(empty_store, judge, ReviewQueue(tmp_path), reject_confidence=0.9)
    for n in range(3):
        await empty_store.add_turn(
            agent_id="tws-troubleshooter",
            question=f"Why did PAYROLL_EXTRACT fail, take {n}?",
            answer="PAYROLL_EXTRACT abended with ORA-01017.",
            evidence=[{"tool": "get_job_log", "args": {}, "summary": "ORA-01017"}],
        )
    stop = asyncio.Event()
    asked: list[float] = []

    async def chatting() -> None:
        while not stop.is_set():
            with activity.turn():
                t0 = time.monotonic()
                await _call(lm, "Why did PAYROLL_EXTRACT fail?")
                asked.append(time.monotonic() - t0)

    chat = asyncio.create_task(chatting())
    summary = await asyncio.wait_for(auditor.run_pass(), 60)
    stop.set()
    await chat
    assert (summary.audited, summary.ok, summary.errors) == (3, 3, 0), summary
    assert {m.metadata.state for m in await empty_store.list(limit=10)} == {"audited_ok"}
    assert len(asked) > 3, "chat went on meanwhile"
    assert model.judged >= 3 and model.max_active == 1
