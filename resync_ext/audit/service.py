"""The audit loop as one service: reviewers' decisions, reconciliation, metrics, fresh audits.

A decision is written to the review queue first (its batch file, or its row in the team
database: the durable record of who decided what, when and why), then applied to the memory's
state. If the process dies in between, :meth:`reconcile` (run at start and before each audit
pass) re-applies every recorded decision whose memory still says ``flagged``, so no decision is
ever lost.

A reviewer may also decide a memory the auditor kept (``audited_ok``: a spot check, which is what
measures the auditor's recall) or removed (``rejected_by_auditor``: approving it restores it to
retrieval); it is filed into a batch with the auditor's verdict first, so the record is the same.
A correction approves the memory with the reviewer's answer stored beside the original.

A chat turn's new memory is audited soon after it is stored (:meth:`audit_soon`): the ids of a
burst of turns are gathered for ``FRESH_AUDIT_DELAY_S`` and judged in one background task, whose
failure is logged and never reaches the user.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from resync_ext import metrics
from resync_ext.audit.auditor import Auditor, PassSummary, review_item, verdict_of
from resync_ext.audit.errors import ItemNotFound
from resync_ext.audit.metrics import auditor_metrics
from resync_ext.audit.review_queue import Action, ReviewItem, ReviewQueueProtocol
from resync_ext.debounce import Debouncer
from resync_ext.errors import ResyncError
from resync_ext.memory.errors import MemoryStoreError

if TYPE_CHECKING:
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

log = logging.getLogger(__name__)

FRESH_AUDIT_DELAY_S = 2.0
#: States the auditor leaves a memory in that a reviewer may decide without a flag.
JUDGED_UNFLAGGED = ("audited_ok", "rejected_by_auditor")


class AuditService:
    """Decisions, reconciliation and metrics over the store, the queue and the auditor."""

    def __init__(
        self,
        store: MemoryStore,
        queue: ReviewQueueProtocol,
        auditor: Auditor,
        *,
        on_approved: Callable[[Memory], None] | None = None,
        fresh_delay_s: float = FRESH_AUDIT_DELAY_S,
    ) -> None:
        self.store = store
        self.queue = queue
        self.auditor = auditor
        #: Told of every decided memory a program can learn from: approved ones (demonstrations
        #: for their agent) and rejected ones with a reason (counter-examples for the judge).
        self.on_approved = on_approved
        self.fresh: Debouncer[str] = Debouncer(
            fresh_delay_s, self._audit_fresh, name="resync-audit-fresh", log=log
        )

    def audit_soon(self, memory_id: str) -> None:
        """Audit a fresh memory in the background, with the others of its burst."""
        self.fresh.add(memory_id)

    async def _audit_fresh(self, memory_ids: set[str]) -> None:
        for memory_id in memory_ids:
            try:
                await self.auditor.audit_memory(memory_id)
            except Exception as e:  # it stays "new": the scheduled pass picks it up
                log.warning("Resync: background audit of %s failed: %s", memory_id, e)

    def stop(self) -> None:
        """Drop the fresh audits still waiting (they stay ``new`` for the next pass)."""
        self.fresh.cancel()

    async def decide(
        self,
        memory_id: str,
        action: Action,
        *,
        user: str,
        comment: str | None = None,
        answer: str | None = None,
        wrong_claim: str | None = None,
    ) -> ReviewItem:
        """Record a reviewer's decision and apply it to the memory."""
        kw: dict[str, Any] = {
            "user": user,
            "comment": comment,
            "answer": answer,
            "wrong_claim": wrong_claim,
        }
        try:
            item, changed = await self.queue.decide(memory_id, action, **kw)
        except ItemNotFound:
            if not await self._file_judged(memory_id):
                raise
            item, changed = await self.queue.decide(memory_id, action, **kw)
        if changed:
            await self._apply(item)
            metrics.REVIEW_DECISIONS.labels(item.status).inc()
            log.info(
                "review: %s %s memory %s%s",
                user,
                item.status,
                memory_id,
                " with a comment" if comment else "",
            )
        return item

    async def decide_many(
        self,
        memory_ids: list[str],
        action: Literal["approve", "reject"],
        *,
        user: str,
        comment: str | None = None,
    ) -> list[dict[str, Any]]:
        """Decide each memory in turn; a bad id is reported in its result and stops nothing."""
        results: list[dict[str, Any]] = []
        for memory_id in dict.fromkeys(memory_ids):  # each once, in the order given
            try:
                item = await self.decide(memory_id, action, user=user, comment=comment)
            except (ResyncError, MemoryStoreError) as e:
                code = int(getattr(e, "http_status", 400))
                reason = "not_found" if code == 404 else "conflict" if code == 409 else "invalid"
                results.append(
                    {"memory_id": memory_id, "ok": False, "reason": reason, "message": str(e)}
                )
                continue
            results.append({"memory_id": memory_id, "ok": True, "status": item.status})
        return results

    async def item_for(self, memory_id: str) -> ReviewItem:
        """The review card of a memory: its filed item, else one built from the memory."""
        item = await self.queue.find(memory_id)
        if item is not None:
            return item
        memory = await self.store.get(memory_id)
        item = review_item(memory, verdict_of(memory))
        if (review := memory.metadata.review) is not None:
            item.status = "rejected" if memory.metadata.state == "rejected" else "approved"
            item.decided_by, item.decided_at, item.comment = review.by, review.at, review.comment
            item.corrected_answer, item.wrong_claim = review.corrected_answer, review.wrong_claim
        return item

    async def _file_judged(self, memory_id: str) -> bool:
        """File a judged but unflagged memory for review; False when it is not one."""
        try:
            memory = await self.store.get(memory_id)
        except (ResyncError, MemoryStoreError):
            return False
        if memory.metadata.state not in JUDGED_UNFLAGGED or memory.metadata.audit is None:
            return False
        await self.queue.add_items([review_item(memory, verdict_of(memory))])
        return True

    async def _apply(self, item: ReviewItem) -> None:
        state = item.status
        review = {
            "by": item.decided_by,
            "at": item.decided_at,
            "comment": item.comment,
            "corrected_answer": item.corrected_answer,
            "wrong_claim": item.wrong_claim,
        }
        memory = await self.store.set_state(
            item.memory_id, state, expect={"flagged", item.auditor_state, state}, review=review
        )
        teaches = state == "approved" or bool(item.comment)
        if teaches and self.on_approved is not None:
            try:
                self.on_approved(memory)
            except Exception:
                log.exception("review: could not learn from memory %s", item.memory_id)

    async def reconcile(self) -> int:
        """Re-apply recorded decisions whose memory did not get them (a crash in between)."""
        fixed = 0
        for item in await self.queue.decisions():
            try:
                memory = await self.store.get(item.memory_id)
            except Exception:
                continue
            meta = memory.metadata
            undecided = meta.state in ("flagged", item.auditor_state) and meta.state != item.status
            uncorrected = item.corrected_answer is not None and (
                meta.review is None or meta.review.corrected_answer != item.corrected_answer
            )
            if undecided or (uncorrected and meta.state == item.status):
                await self._apply(item)
                fixed += 1
        if fixed:
            log.info("review: re-applied %d recorded decision(s) after a restart", fixed)
        return fixed

    async def run_pass(self) -> PassSummary:
        """Reconcile, then run an audit pass."""
        await self.reconcile()
        summary = await self.auditor.run_pass()
        metrics.AUDIT_PASSES.inc()
        metrics.set_memory_counts(await self.store.counts())
        return summary

    async def metrics(self) -> dict[str, Any]:
        """Memories by state now, verdicts and decisions by day, and the auditor measured against
        the reviewers (``resync_ext.audit.metrics``)."""
        by_state = await self.store.counts()
        verdicts_by_day: dict[str, Counter[str]] = {}
        for p in self.auditor.history():
            day = str(p.get("at", ""))[:10]
            bucket = verdicts_by_day.setdefault(day, Counter())
            for key in ("ok", "flagged", "rejected", "errors"):
                bucket[key] += int(p.get(key, 0))
        decided = await self.queue.decisions()
        pending = sum(b["pending"] for b in await self.queue.list_batches())
        decisions_by_day: dict[str, Counter[str]] = {}
        for item in decided:
            day = (item.decided_at or "")[:10]
            decisions_by_day.setdefault(day, Counter())[item.status] += 1
        return {
            **auditor_metrics(decided, self.auditor.reject_confidence),
            "pending": pending,
            "by_state": by_state,
            "verdicts": _total(verdicts_by_day),
            "decisions": _total(decisions_by_day),
            "over_time": [
                {
                    "day": day,
                    "verdicts": dict(verdicts_by_day.get(day, {})),
                    "decisions": dict(decisions_by_day.get(day, {})),
                }
                for day in sorted(set(verdicts_by_day) | set(decisions_by_day))
            ],
        }


def _total(by_day: dict[str, Counter[str]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for c in by_day.values():
        total.update(c)
    return dict(total)
