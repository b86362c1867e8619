"""The audit loop as one service: reviewers' decisions, reconciliation, metrics, fresh audits.

A decision is written to its batch file first (the durable record of who decided what, when and
why), then applied to the memory's state. If the process dies in between, :meth:`reconcile` (run
at start and before each audit pass) re-applies every recorded decision whose memory still says
``flagged``, so no decision is ever lost.

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
from resync_ext.audit.auditor import Auditor, PassSummary
from resync_ext.audit.review_queue import ReviewItem, ReviewQueue
from resync_ext.debounce import Debouncer

if TYPE_CHECKING:
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

log = logging.getLogger(__name__)

STATE_OF = {"approve": "approved", "reject": "rejected"}
FRESH_AUDIT_DELAY_S = 2.0


class AuditService:
    """Decisions, reconciliation and metrics over the store, the queue and the auditor."""

    def __init__(
        self,
        store: MemoryStore,
        queue: ReviewQueue,
        auditor: Auditor,
        *,
        on_approved: Callable[[Memory], None] | None = None,
        fresh_delay_s: float = FRESH_AUDIT_DELAY_S,
    ) -> None:
        self.store = store
        self.queue = queue
        self.auditor = auditor
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
        action: Literal["approve", "reject"],
        *,
        user: str,
        comment: str | None = None,
    ) -> ReviewItem:
        """Record a reviewer's decision and apply it to the memory."""
        item, changed = await self.queue.decide(memory_id, action, user=user, comment=comment)
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

    async def _apply(self, item: ReviewItem) -> None:
        state = item.status
        review = {"by": item.decided_by, "at": item.decided_at, "comment": item.comment}
        memory = await self.store.set_state(
            item.memory_id, state, expect={"flagged", state}, review=review
        )
        if state == "approved" and self.on_approved is not None:
            try:
                self.on_approved(memory)
            except Exception:
                log.exception("review: could not add memory %s as a demonstration", item.memory_id)

    async def reconcile(self) -> int:
        """Re-apply recorded decisions whose memory did not get them (a crash in between)."""
        fixed = 0
        for item in await self.queue.decisions():
            try:
                memory = await self.store.get(item.memory_id)
            except Exception:
                continue
            if memory.metadata.state == "flagged":
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
        """Memories by state now, auditor verdicts and review decisions by day."""
        by_state = await self.store.counts()
        verdicts_by_day: dict[str, Counter[str]] = {}
        for p in self.auditor.history():
            day = str(p.get("at", ""))[:10]
            bucket = verdicts_by_day.setdefault(day, Counter())
            for key in ("ok", "flagged", "rejected", "errors"):
                bucket[key] += int(p.get(key, 0))
        decisions_by_day: dict[str, Counter[str]] = {}
        for item in await self.queue.decisions():
            day = (item.decided_at or "")[:10]
            decisions_by_day.setdefault(day, Counter())[item.status] += 1
        return {
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
