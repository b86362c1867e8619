"""The review queue on disk: batch files, decisions, archive, names, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from resync_ext.audit.errors import (
    BadBatchName,
    BatchNotFound,
    BatchPending,
    DecisionConflict,
    ItemNotFound,
)
from resync_ext.audit.review_queue import ReviewItem, ReviewQueue

WHEN = datetime(2026, 11, 24, 7, 30, 0, tzinfo=UTC)

TRAVERSALS = [
    "../audit-20261124T073000Z",
    "..%2Faudit-20261124T073000Z",
    "/etc/passwd",
    "audit-20261124T073000Z/../../x",
    "audit-20261124T073000Z.json",
    "audit-2026112T073000Z",
    "AUDIT-20261124T073000Z",
    "audit-20261124T073000Z\x00",
    "",
    "..",
]


def item(memory_id: str, **kw: object) -> ReviewItem:
    data = {
        "memory_id": memory_id,
        "question": "why did PAYROLL_EXTRACT fail?",
        "answer": "ORA-01017 bad password",
        "agent_id": "tws-troubleshooter",
        "verdict": "suspicious",
        "confidence": 0.6,
        "reason": "the log line is not in the evidence",
        "evidence": [{"tool": "get_job_log", "args": {}, "summary": "ORA-01017"}],
    }
    data.update(kw)
    return ReviewItem.model_validate(data)


@pytest.fixture
def queue(tmp_path: Path) -> ReviewQueue:
    return ReviewQueue(tmp_path)


@pytest.mark.asyncio
async def test_a_pass_writes_one_batch_file_in_the_spec_shape(queue: ReviewQueue) -> None:
    name = await queue.add_items([item("m1"), item("m2")], now=WHEN)
    assert name == "audit-20261124T073000Z"
    path = queue.flags_dir / f"{name}.json"
    data = json.loads(path.read_text())
    assert data["name"] == name and data["created"] == "2026-11-24T07:30:00Z"
    assert [i["memory_id"] for i in data["items"]] == ["m1", "m2"]
    assert set(data["items"][0]) == {
        "memory_id",
        "question",
        "answer",
        "agent_id",
        "verdict",
        "confidence",
        "reason",
        "evidence",
        "status",
        "decided_by",
        "decided_at",
        "comment",
        # issue 19: the correction beside the original, what the auditor had done with the
        # memory, and every reviewer's decision (for agreement)
        "corrected_answer",
        "wrong_claim",
        "auditor_state",
        "opinions",
    }
    assert data["items"][0]["status"] == "pending"
    assert await queue.add_items([]) is None
    assert [b["name"] for b in await queue.list_batches()] == [name]
    assert list(queue.flags_dir.glob(".*tmp")) == []


@pytest.mark.asyncio
async def test_same_second_pass_joins_the_batch_without_duplicates(queue: ReviewQueue) -> None:
    await queue.add_items([item("m1")], now=WHEN)
    await queue.add_items([item("m1"), item("m2")], now=WHEN)
    batch = await queue.get_batch("audit-20261124T073000Z")
    assert [i.memory_id for i in batch.items] == ["m1", "m2"]


@pytest.mark.asyncio
async def test_decisions_record_who_when_why_and_conflicts(queue: ReviewQueue) -> None:
    await queue.add_items([item("m1"), item("m2")], now=WHEN)
    decided, changed = await queue.decide("m1", "approve", user="alice", comment="right")
    assert changed and decided.status == "approved"
    assert decided.decided_by == "alice" and decided.comment == "right" and decided.decided_at
    again, changed = await queue.decide("m1", "approve", user="bob", comment=None)
    assert not changed and again.decided_by == "alice"
    with pytest.raises(DecisionConflict):
        await queue.decide("m1", "reject", user="bob", comment=None)
    with pytest.raises(ItemNotFound):
        await queue.decide("nope", "approve", user="bob", comment=None)
    [summary] = await queue.list_batches()
    assert (summary["total"], summary["pending"], summary["approved"]) == (2, 1, 1)
    on_disk = json.loads((queue.flags_dir / "audit-20261124T073000Z.json").read_text())
    assert on_disk["items"][0]["decided_by"] == "alice"


@pytest.mark.asyncio
async def test_archive_only_when_fully_decided(queue: ReviewQueue) -> None:
    name = await queue.add_items([item("m1"), item("m2")], now=WHEN)
    assert name is not None
    await queue.decide("m1", "approve", user="a", comment=None)
    with pytest.raises(BatchPending):
        await queue.archive(name)
    await queue.decide("m2", "reject", user="a", comment="wrong job")
    await queue.archive(name)
    assert (queue.archive_dir / f"{name}.json").is_file()
    assert await queue.list_batches() == []
    with pytest.raises(BatchNotFound):
        await queue.get_batch(name)
    with pytest.raises(BatchNotFound):
        await queue.archive(name)
    assert {i.memory_id for i in await queue.decisions()} == {"m1", "m2"}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", TRAVERSALS)
async def test_names_outside_the_pattern_are_refused(queue: ReviewQueue, name: str) -> None:
    sentinel = queue.flags_dir.parent.parent / "audit-20261124T073000Z.json"
    sentinel.write_text("{}")
    for call in (queue.get_batch(name), queue.archive(name)):
        with pytest.raises(BadBatchName):
            await call
    assert sentinel.read_text() == "{}"


WRITER = """
import sys
from pathlib import Path
from resync_ext.files import atomic_write_json
path = Path(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    atomic_write_json(path, {"n": n, "items": [{"memory_id": str(i), "text": "x" * 200}
                                               for i in range(2000)]})
"""


@pytest.mark.slow
def test_sigkill_during_writes_never_leaves_a_torn_file(tmp_path: Path) -> None:
    path = tmp_path / "audit-20261124T073000Z.json"
    for delay in (0.05, 0.13, 0.31):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        if path.exists():
            data = json.loads(path.read_text())  # never torn: old or new, always whole
            assert len(data["items"]) == 2000
    assert path.exists()
