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
from typing import Any, Literal

from pydantic import BaseModel, Field

from resync_ext.audit.errors import (
    BadBatchName,
    BatchNotFound,
    BatchPending,
    DecisionConflict,
    ItemNotFound,
)
from resync_ext.audit.judge import VerdictName
from resync_ext.files import atomic_write_json

BATCH_NAME = re.compile(r"audit-\d{8}T\d{6}Z")
Status = Literal["pending", "approved", "rejected"]


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
        return {"name": self.name, "created": self.created, "total": len(self.items), **by}


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_batch_name(name: str) -> str:
    """Return ``name`` if it is a batch name, else raise BadBatchName (before any path is built)."""
    if not isinstance(name, str) or not BATCH_NAME.fullmatch(name):
        raise BadBatchName(f"not a batch name: {name!r} (expected audit-yyyymmddThhmmssZ)")
    return name


class ReviewQueue:
    """Batches of flagged memories on disk; all methods are async and run file work in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.flags_dir = Path(data_dir) / "audit" / "flags"
        self.archive_dir = Path(data_dir) / "audit" / "archive"
        self.flags_dir.mkdir(parents=True, exist_ok=True)
        self.archive_dir.mkdir(parents=True, exist_ok=True)
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
        name = f"audit-{when.strftime('%Y%m%dT%H%M%SZ')}"

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
        action: Literal["approve", "reject"],
        *,
        user: str,
        comment: str | None,
    ) -> tuple[ReviewItem, bool]:
        """Record a decision; return the item and whether it changed (False: the same again)."""
        status: Status = "approved" if action == "approve" else "rejected"

        def write() -> tuple[ReviewItem, bool]:
            for path in sorted(self.flags_dir.glob("audit-*.json")):
                batch = self._load(path)
                for item in batch.items:
                    if item.memory_id != memory_id:
                        continue
                    if item.status == status:
                        return item, False
                    if item.status != "pending":
                        raise DecisionConflict(
                            f"memory {memory_id} was already {item.status} by {item.decided_by}"
                        )
                    item.status = status
                    item.decided_by = user
                    item.decided_at = utc_now()
                    item.comment = comment
                    atomic_write_json(path, batch.model_dump(mode="json"))
                    return item, True
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
