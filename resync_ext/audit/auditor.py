"""The auditor: judges memories in state ``new`` and acts on the verdict.

The memory is the source of truth. Each memory is claimed before it is judged (``claims.py``: in
this process by default, in the team database across replicas) and re-read once claimed, so two
concurrent audits never judge the same memory; its new state is set with a compare-and-set from
``new`` (so a memory is judged once), and flagged memories are then filed into the pass's review
batch. A crash between the two leaves a ``flagged`` memory outside any batch: the next pass files
it first (``_refile_orphans``), so a crash loses nothing and repeats no judgement.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from resync_ext import metrics
from resync_ext.agents.errors import JudgeOutputError
from resync_ext.audit.claims import Claims, LocalClaims
from resync_ext.audit.judge import FLAG_CONFIDENCE, VERDICTS, Judge, Verdict, is_flag
from resync_ext.audit.review_queue import ReviewItem, ReviewQueueProtocol, utc_now
from resync_ext.files import append_private_line, private_dir
from resync_ext.memory.errors import MemoryNotFound

if TYPE_CHECKING:
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

log = logging.getLogger(__name__)

__all__ = ["VERDICTS", "Auditor", "Judge", "PassSummary", "Verdict"]


class PassSummary(BaseModel):
    """What one audit pass did (the body of POST /resync/api/audit/run)."""

    audited: int = 0
    ok: int = 0
    flagged: int = 0
    rejected: int = 0
    errors: int = 0
    batch: str | None = None
    seconds: float = 0.0


class Auditor:
    """Judge ``new`` memories with bounded concurrency and file the doubtful ones for review."""

    def __init__(
        self,
        store: MemoryStore,
        judge: Judge,
        queue: ReviewQueueProtocol,
        *,
        reject_confidence: float = 0.9,
        flag_confidence: float = FLAG_CONFIDENCE,
        concurrency: int = 2,
        page_size: int = 50,
        events_path: Path | None = None,
        claims: Claims | None = None,
    ) -> None:
        self.store = store
        self.judge = judge
        self.queue = queue
        self.reject_confidence = reject_confidence
        self.flag_confidence = flag_confidence
        self.concurrency = concurrency
        self.page_size = page_size
        self.events_path = events_path
        self.claims: Claims = claims or LocalClaims()
        self._pass_lock = asyncio.Lock()

    async def _judge(self, memory: Memory) -> Verdict:
        meta = memory.metadata
        for attempt in (1, 2):
            try:
                raw = await self.judge(
                    question=meta.question, answer=meta.answer, evidence=list(meta.evidence)
                )
                return raw if isinstance(raw, Verdict) else Verdict.model_validate(raw)
            except (JudgeOutputError, ValidationError, ValueError) as e:
                if attempt == 2:
                    raise JudgeOutputError(f"unparseable verdict for {memory.id}: {e}") from e
                log.info("auditor: retrying unparseable verdict for %s", memory.id)
        raise AssertionError("unreachable")

    async def _audit_one(self, memory: Memory) -> tuple[str, ReviewItem | None]:
        """Judge one claimed memory and set its state; return the outcome and a review item."""
        verdict = await self._judge(memory)
        audit = {**verdict.model_dump(), "at": utc_now()}
        if verdict.verdict == "incorrect" and verdict.confidence >= self.reject_confidence:
            state, outcome = "rejected_by_auditor", "rejected"
        elif is_flag(verdict, self.flag_confidence):
            state, outcome = "flagged", "flagged"
        else:  # fine, or a doubt too weak for the queue: kept, the doubt recorded on the memory
            state, outcome = "audited_ok", "ok"
        await self.store.set_state(memory.id, state, expect={"new"}, audit=audit)
        metrics.AUDIT_VERDICTS.labels(verdict.verdict).inc()
        item = review_item(memory, verdict) if state == "flagged" else None
        return outcome, item

    async def audit_memories(
        self, memories: list[Memory], summary: PassSummary
    ) -> list[ReviewItem]:
        """Judge ``memories`` (skipping any another task holds) with bounded concurrency."""
        fresh = [m for m in memories if m.metadata.state == "new"]
        held = await self.claims.claim([m.id for m in fresh])
        mine = [m for m in fresh if m.id in held]
        sem = asyncio.Semaphore(self.concurrency)
        items: list[ReviewItem] = []

        async def one(memory: Memory) -> None:
            async with sem:
                try:
                    current = await self._still_new(memory.id)
                    if current is None:  # judged by another task since the page was read
                        return
                    outcome, item = await self._audit_one(current)
                except Exception as e:
                    summary.errors += 1
                    log.warning("auditor: %s stays new: %s", memory.id, e)
                    return
                finally:
                    await self.claims.release(memory.id)
                summary.audited += 1
                setattr(summary, outcome, getattr(summary, outcome) + 1)
                if item is not None:
                    items.append(item)

        await asyncio.gather(*(one(m) for m in mine))
        return items

    async def _still_new(self, memory_id: str) -> Memory | None:
        """The claimed memory as stored now, if it is still ``new`` (another task or replica
        may have judged it between the page read and the claim)."""
        try:
            memory = await self.store.get(memory_id)
        except MemoryNotFound:  # deleted meanwhile
            return None
        return memory if memory.metadata.state == "new" else None

    async def run_pass(self, limit: int | None = None) -> PassSummary:
        """Audit every ``new`` memory (up to ``limit``); one pass at a time."""
        async with self._pass_lock:
            t0 = time.perf_counter()
            summary = PassSummary()
            items = await self._refile_orphans()
            skipped = 0
            while limit is None or summary.audited + summary.errors < limit:
                page = await self.store.list(state="new", limit=self.page_size, offset=skipped)
                if not page:
                    break
                audited_before = summary.audited
                items += await self.audit_memories(page, summary)
                # Memories that failed, or that another task holds, stay new: step over them
                # instead of reading them again.
                skipped += len(page) - (summary.audited - audited_before)
            summary.batch = await self.queue.add_items(items)
            summary.seconds = round(time.perf_counter() - t0, 3)
            log.info(
                "audit pass: %d audited (%d ok, %d flagged, %d rejected, %d errors) in %.1fs%s",
                summary.audited,
                summary.ok,
                summary.flagged,
                summary.rejected,
                summary.errors,
                summary.seconds,
                f", batch {summary.batch}" if summary.batch else "",
            )
            await asyncio.to_thread(self._record, summary)
            return summary

    async def audit_memory(self, memory_id: str) -> PassSummary:
        """Audit one fresh memory now (the chat path's background audit)."""
        summary = PassSummary()
        memory = await self.store.get(memory_id)
        items = await self.audit_memories([memory], summary)
        summary.batch = await self.queue.add_items(items)
        if summary.audited:
            await asyncio.to_thread(self._record, summary)
        return summary

    async def _refile_orphans(self) -> list[ReviewItem]:
        """Flagged memories in no batch (a crash after the state change): file them now."""
        filed = await self.queue.memory_ids()
        orphans: list[ReviewItem] = []
        offset = 0
        while True:
            page = await self.store.list(state="flagged", limit=200, offset=offset)
            if not page:
                return orphans
            offset += len(page)
            for m in page:
                if m.id in filed or m.metadata.audit is None:
                    continue
                orphans.append(review_item(m, verdict_of(m)))

    def _record(self, summary: PassSummary) -> None:
        if self.events_path is None:
            return
        private_dir(self.events_path.parent)
        line = {"at": datetime.now(UTC).isoformat(timespec="seconds"), **summary.model_dump()}
        append_private_line(self.events_path, json.dumps(line))

    def history(self) -> list[dict[str, Any]]:
        """Every recorded pass, oldest first (for metrics)."""
        if self.events_path is None or not self.events_path.is_file():
            return []
        out = []
        for line in self.events_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line torn by a crash is skipped, not fatal
                continue
        return out


def verdict_of(memory: Memory) -> Verdict:
    """The auditor's recorded verdict on a memory (a flag without one reads as suspicious)."""
    audit = memory.metadata.audit
    if audit is None:
        return Verdict(verdict="suspicious", confidence=0.5, reason="flagged by the auditor")
    return Verdict(
        verdict=audit.verdict if audit.verdict in VERDICTS else "suspicious",
        confidence=audit.confidence if audit.confidence is not None else 0.5,
        reason=audit.reason or "flagged by the auditor",
    )


def review_item(memory: Memory, verdict: Verdict) -> ReviewItem:
    """The review card of a judged memory (``auditor_state``: the state the auditor gave it)."""
    meta = memory.metadata
    state = meta.state if meta.state in ("audited_ok", "rejected_by_auditor") else "flagged"
    return ReviewItem(
        auditor_state=state,
        memory_id=memory.id,
        question=meta.question,
        answer=meta.answer,
        agent_id=meta.agent_id,
        verdict=verdict.verdict,
        confidence=verdict.confidence,
        reason=verdict.reason,
        evidence=list(meta.evidence),
    )
