"""The review queue: batches of flagged memories as JSON files, decided by humans.

Layout (SPEC.md section 7)::

    <data_dir>/audit/flags/audit-20261124T073000Z.json     one per audit pass that flagged anything
    <data_dir>/audit/archive/audit-...json                 fully decided batches, moved here

Every write goes through ``resync_ext.files.atomic_write_json`` (temporary file in the same folder,
fsync, rename, fsync of the folder) under one lock, so a crash at any moment leaves either the
previous file or the new one, never a torn one. A batch name is checked against its pattern
before any path is built, so no request can name a file outside the folder.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from resync_ext.audit.errors import (
    BadBatchName,
    BatchNotFound,
    BatchPending,
    DecisionConflict,
    InvalidReview,
    ItemNotFound,
)
from resync_ext.audit.judge import VerdictName
from resync_ext.files import atomic_write_json, private_dir
from resync_ext.redact import mask_secrets

BATCH_NAME = re.compile(r"audit-\d{8}T\d{6}Z")
Status = Literal["pending", "approved", "rejected"]
#: What a reviewer can do with an item: "correct" approves it with a corrected answer.
Action = Literal["approve", "reject", "correct"]
#: One reviewer's decision as kept for agreement (Cohen's kappa) and progress counts.
Decision = Literal["approved", "rejected", "corrected"]
#: The auditor's outcome that put the item in a batch: flagged, or (filed when a reviewer
#: decides one anyway) kept as ok, or removed from retrieval.
AuditorState = Literal["flagged", "audited_ok", "rejected_by_auditor"]
MAX_TEXT = 8000  # a comment or corrected answer longer than a few pages is cut


class Opinion(BaseModel):
    """One reviewer's decision on an item (the first one decides; later ones are recorded)."""

    by: str
    at: str
    decision: Decision
    comment: str | None = None


class ReviewItem(BaseModel):
    """One flagged memory awaiting (or carrying) a reviewer's decision."""

    memory_id: str
    question: str
    answer: str
    agent_id: str | None = None
    verdict: VerdictName
    confidence: float
    reason: str
    evidence: list[Any] = Field(default_factory=list)
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None
    corrected_answer: str | None = None
    wrong_claim: str | None = None
    auditor_state: AuditorState = "flagged"
    opinions: list[Opinion] = Field(default_factory=list)


class Batch(BaseModel):
    """A review batch file."""

    name: str
    created: str
    items: list[ReviewItem]

    def summary(self) -> dict[str, Any]:
        """Counts for the batch list."""
        by = {
            s: sum(1 for i in self.items if i.status == s)
            for s in ("pending", "approved", "rejected")
        }
        by["corrected"] = sum(1 for i in self.items if i.corrected_answer is not None)
        return {"name": self.name, "created": self.created, "total": len(self.items), **by}


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def batch_name(now: datetime | None = None) -> str:
    """The name of the batch an audit pass files into at ``now`` (one per second, UTC)."""
    return f"audit-{(now or datetime.now(UTC)).strftime('%Y%m%dT%H%M%SZ')}"


def check_batch_name(name: str) -> str:
    """Return ``name`` if it is a batch name, else raise BadBatchName (before any path is built)."""
    if not isinstance(name, str) or not BATCH_NAME.fullmatch(name):
        raise BadBatchName(f"not a batch name: {name!r} (expected audit-yyyymmddThhmmssZ)")
    return name


class ReviewQueueProtocol(Protocol):
    """The review queue the auditor, the audit service and the handlers use: :class:`ReviewQueue`
    (files, one machine) or ``review_queue_pg.PostgresReviewQueue`` (shared by replicas)."""

    async def list_batches(self) -> list[dict[str, Any]]:
        """Summaries of the open batches, oldest first."""
        ...

    async def get_batch(self, name: str) -> Batch:
        """One open batch by name."""
        ...

    async def memory_ids(self) -> set[str]:
        """Ids of every memory in any batch, open or archived."""
        ...

    async def add_items(
        self, items: Iterable[ReviewItem], *, now: datetime | None = None
    ) -> str | None:
        """File ``items`` into this pass's batch; return its name (None when nothing to add)."""
        ...

    async def decide(
        self,
        memory_id: str,
        action: Action,
        *,
        user: str,
        comment: str | None,
        answer: str | None = None,
        wrong_claim: str | None = None,
    ) -> tuple[ReviewItem, bool]:
        """Record a decision; return the item and whether its outcome changed."""
        ...

    async def archive(self, name: str) -> None:
        """Archive a fully decided batch."""
        ...

    async def find(self, memory_id: str) -> ReviewItem | None:
        """The review item of a memory, open or archived."""
        ...

    async def decisions(self) -> list[ReviewItem]:
        """Every decided item, open and archived."""
        ...


class ReviewQueue:
    """Batches of flagged memories on disk; all methods are async and run file work in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.flags_dir = Path(data_dir) / "audit" / "flags"
        self.archive_dir = Path(data_dir) / "audit" / "archive"
        private_dir(self.flags_dir)  # 0700: reviewers' decisions and comments
        private_dir(self.archive_dir)
        self._lock = threading.Lock()  # file work runs in worker threads

    # -- reading --------------------------------------------------------------------------------
    def _load(self, path: Path) -> Batch:
        return Batch.model_validate_json(path.read_bytes())

    def _path(self, name: str, *, archived: bool = False) -> Path:
        folder = self.archive_dir if archived else self.flags_dir
        return folder / f"{check_batch_name(name)}.json"

    def _batches(self) -> list[Batch]:
        return [self._load(p) for p in sorted(self.flags_dir.glob("audit-*.json"))]

    async def list_batches(self) -> list[dict[str, Any]]:
        """Summaries of the open (not archived) batches, oldest first."""
        batches = await asyncio.to_thread(self._locked, self._batches)
        return [b.summary() for b in batches if BATCH_NAME.fullmatch(b.name)]

    async def get_batch(self, name: str) -> Batch:
        """One open batch by name."""
        path = self._path(name)

        def read() -> Batch:
            if not path.is_file():
                raise BatchNotFound(f"no batch named {name}")
            return self._load(path)

        return await asyncio.to_thread(self._locked, read)

    async def memory_ids(self) -> set[str]:
        """Ids of every memory in any batch, open or archived (for reconciliation)."""

        def read() -> set[str]:
            ids: set[str] = set()
            for folder in (self.flags_dir, self.archive_dir):
                for p in folder.glob("audit-*.json"):
                    ids.update(i.memory_id for i in self._load(p).items)
            return ids

        return await asyncio.to_thread(self._locked, read)

    # -- writing --------------------------------------------------------------------------------
    def _locked(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            return fn(*args)

    async def add_items(
        self, items: Iterable[ReviewItem], *, now: datetime | None = None
    ) -> str | None:
        """Put ``items`` into the batch of this pass; return its name (None when nothing to add)."""
        new = list(items)
        if not new:
            return None
        when = now or datetime.now(UTC)
        name = batch_name(when)

        def write() -> str:
            path = self._path(name)
            if path.is_file():  # a second pass in the same second joins the batch
                batch = self._load(path)
            else:
                batch = Batch(name=name, created=when.strftime("%Y-%m-%dT%H:%M:%SZ"), items=[])
            known = {i.memory_id for i in batch.items}
            batch.items.extend(i for i in new if i.memory_id not in known)
            atomic_write_json(path, batch.model_dump(mode="json"))
            return name

        result: str = await asyncio.to_thread(self._locked, write)
        return result

    async def decide(
        self,
        memory_id: str,
        action: Action,
        *,
        user: str,
        comment: str | None,
        answer: str | None = None,
        wrong_claim: str | None = None,
    ) -> tuple[ReviewItem, bool]:
        """Record a decision; return the item and whether its outcome changed.

        The reviewer's texts are masked (``mask_secrets``) before they are written. The first
        decision decides; the same reviewer may repeat it or refine an approval with a
        correction. Another reviewer's decision on a decided item is kept as a second opinion
        (what reviewer agreement is measured on) and changes nothing else. A decision that
        differs from the one standing raises DecisionConflict (a second opinion is kept first).
        """
        status, opinion = _opinion(action, user=user, comment=comment, answer=answer)

        def write() -> tuple[ReviewItem, bool]:
            for path in sorted(self.flags_dir.glob("audit-*.json")):
                batch = self._load(path)
                for item in batch.items:
                    if item.memory_id == memory_id:
                        changed, opinions = _apply(item, opinion, status, answer, wrong_claim)
                        if changed or opinions:
                            atomic_write_json(path, batch.model_dump(mode="json"))
                        _check_standing(item, status, opinions)
                        return item, changed
            raise ItemNotFound(f"no review item for memory {memory_id}")

        result: tuple[ReviewItem, bool] = await asyncio.to_thread(self._locked, write)
        return result

    async def archive(self, name: str) -> None:
        """Move a fully decided batch to the archive (409 while an item is pending)."""
        src = self._path(name)
        dst = self._path(name, archived=True)

        def move() -> None:
            if not src.is_file():
                raise BatchNotFound(f"no batch named {name}")
            pending = sum(1 for i in self._load(src).items if i.status == "pending")
            if pending:
                raise BatchPending(f"batch {name} still has {pending} pending item(s)")
            os.replace(src, dst)

        await asyncio.to_thread(self._locked, move)

    async def find(self, memory_id: str) -> ReviewItem | None:
        """The review item of a memory, open or archived (None when it was never filed)."""

        def read() -> ReviewItem | None:
            for folder in (self.flags_dir, self.archive_dir):
                for p in sorted(folder.glob("audit-*.json")):
                    for i in self._load(p).items:
                        if i.memory_id == memory_id:
                            return i
            return None

        result: ReviewItem | None = await asyncio.to_thread(self._locked, read)
        return result

    async def decisions(self) -> list[ReviewItem]:
        """Every decided item, open and archived (for metrics and reconciliation)."""

        def read() -> list[ReviewItem]:
            out: list[ReviewItem] = []
            for folder in (self.flags_dir, self.archive_dir):
                for p in sorted(folder.glob("audit-*.json")):
                    out.extend(i for i in self._load(p).items if i.status != "pending")
            return out

        result: list[ReviewItem] = await asyncio.to_thread(self._locked, read)
        return result


def _opinion(
    action: Action, *, user: str, comment: str | None, answer: str | None
) -> tuple[Status, Opinion]:
    """The status ``action`` asks for and the reviewer's opinion (comment masked)."""
    if action == "correct" and not (answer and answer.strip()):
        raise InvalidReview("a correction needs the corrected answer")
    status: Status = "rejected" if action == "reject" else "approved"
    decision: Decision = (
        "corrected" if action == "correct" else "rejected" if action == "reject" else "approved"
    )
    return status, Opinion(by=user, at=utc_now(), decision=decision, comment=_masked(comment))


def _check_standing(item: ReviewItem, status: Status, opinions: bool) -> None:
    """Raise DecisionConflict when ``item`` stands decided other than ``status`` (after _apply)."""
    if item.status != status:
        raise DecisionConflict(
            f"memory {item.memory_id} was already {item.status} by {item.decided_by}"
            + (" (your decision is kept as a second opinion)" if opinions else "")
        )


def _masked(text: str | None) -> str | None:
    """A reviewer's text, secrets masked, bounded; None when empty."""
    if text is None or not text.strip():
        return None
    return mask_secrets(text.strip()[:MAX_TEXT])


def _apply(
    item: ReviewItem,
    opinion: Opinion,
    status: Status,
    answer: str | None,
    wrong_claim: str | None,
) -> tuple[bool, bool]:
    """Apply ``opinion`` to ``item`` (see ``ReviewQueue.decide``); return whether the outcome
    changed and whether only the opinions did (a second reviewer's)."""
    mine = item.status == "pending" or item.decided_by == opinion.by
    if not mine:  # a second reviewer: recorded for agreement, the first decision stands
        item.opinions = [o for o in item.opinions if o.by != opinion.by] + [opinion]
        return False, True
    if item.status not in ("pending", status):
        return False, False  # the same reviewer turning it around: a conflict
    corrected = _masked(answer) if opinion.decision == "corrected" else None
    if item.status == status and corrected is None:
        return False, False  # the same decision again
    item.status = status
    item.decided_by = opinion.by
    item.decided_at = opinion.at
    item.comment = opinion.comment
    if corrected is not None:
        item.corrected_answer = corrected
        item.wrong_claim = _masked(wrong_claim)
    item.opinions = [o for o in item.opinions if o.by != opinion.by] + [opinion]
    return True, False
