"""Reviewers' decisions on the real embedded store (issue 19): restoring what the auditor removed
counts against it, a spot check of what it kept measures its recall, and a correction survives a
crash between the batch file and the memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resync_ext.audit.errors import ItemNotFound
from resync_ext.audit.service import AuditService
from tests.audit.test_auditor import ScriptedJudge, add, make

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


async def test_restoring_an_auto_rejected_answer_counts_against_the_auditor(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    removed = await add(store, "wrong answer removed")
    kept = await add(store, "good answer kept")
    auditor, queue = make(store, tmp_path, ScriptedJudge())
    summary = await auditor.run_pass()
    assert (summary.rejected, summary.ok) == (1, 1)
    fresh = await add(store, "a turn nobody judged yet")
    service = AuditService(store, queue, auditor)

    restored = await service.decide(removed, "approve", user="alice", comment="it was right")
    assert restored.auditor_state == "rejected_by_auditor" and restored.status == "approved"
    assert (await store.get(removed)).metadata.state == "approved"  # back in retrieval
    spot = await service.decide(kept, "reject", user="alice", comment="PAYROLL_EXTRACT is fine")
    assert spot.auditor_state == "audited_ok"
    assert (await store.get(kept)).metadata.state == "rejected"
    # An answer still "new" was never judged: there is nothing to review yet.
    with pytest.raises(ItemNotFound):
        await service.decide(fresh, "approve", user="alice")

    m = await service.metrics()
    assert (m["auditor"]["fp"], m["auditor"]["fn"], m["auditor"]["tp"]) == (1, 1, 0)
    assert m["auditor_precision"] == 0.0 and m["auditor_recall"] == 0.0
    assert m["reject_precision"]["decided"] == 1 and m["reject_precision"]["precision"] == 0.0
    assert m["kappa"]["value"] is None and "needs 5" in m["kappa"]["reason"]


async def test_a_correction_recorded_before_a_crash_is_reapplied(
    empty_store: Any, tmp_path: Path
) -> None:
    store = empty_store
    mid = await add(store, "doubtful answer")
    auditor, queue = make(store, tmp_path, ScriptedJudge())
    await auditor.run_pass()
    # The correction reached the batch file; the process died before the memory changed.
    await queue.decide(
        mid, "correct", user="bob", comment=None, answer="PAYROLL_EXTRACT: ORA-01017, bad login."
    )
    assert (await store.get(mid)).metadata.state == "flagged"
    service = AuditService(store, queue, auditor)
    assert await service.reconcile() == 1
    memory = await store.get(mid)
    assert memory.metadata.state == "approved"
    assert memory.metadata.review.corrected_answer == "PAYROLL_EXTRACT: ORA-01017, bad login."
    assert memory.metadata.answer == "PAYROLL_EXTRACT abended with ORA-01017"
    assert "bad login" in memory.text
    assert await service.reconcile() == 0
    m = await service.metrics()
    assert m["auditor"]["tp"] == 1 and m["reviewers"]["bob"]["corrected"] == 1
