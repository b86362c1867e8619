"""What must hold across processes and restarts: nothing lost, no secret on disk, one owner."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from resync_ext.memory import create_memory_store
from resync_ext.memory.edge_maintenance import point_counts, prepare

SECRET = "Sup3rS3cret-4711"
JOB_LOG = f"""\
===============================================================
= JOB       : MDM#DAILY_PAY.PAYROLL_EXTRACT
= USER      : wauser
===============================================================
sqlplus -s payroll/{SECRET}@PAYDB @extract.sql
export DB_PASSWORD={SECRET}
curl -H "Authorization: Bearer {SECRET}xyz" https://hr.example/api
ORA-01017: invalid username/password; logon denied
= Exit Status           : 12
"""


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.slow
@pytest.mark.asyncio
async def test_memories_survive_a_restart_and_no_secret_reaches_disk(tmp_path: Path) -> None:
    store = create_memory_store(data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None)
    await store.open()
    try:
        leaky = await store.add_turn(
            agent_id="tws-troubleshooter",
            question=f"PAYROLL_EXTRACT failed, I set password={SECRET} yesterday, why?",
            answer="The log shows ORA-01017: the database rejected the credentials.",
            evidence=[{"tool": "get_job_log", "args": {"job": "PAYROLL_EXTRACT"}, "log": JOB_LOG}],
        )
        other = await store.add_turn(
            agent_id="tws-troubleshooter",
            question="Is AGT_WIN02 linked?",
            answer="No, it is unlinked.",
            evidence=[],
        )
        await store.set_state(other.id, "approved", review={"by": "ann", "comment": "ok"})
    finally:
        await store.close()

    assert SECRET not in leaky.model_dump_json()
    assert "ORA-01017" in leaky.metadata.evidence[0]["log"]  # the log itself was kept
    assert _files_containing(tmp_path, b"ORA-01017")  # so the search below can see the bytes
    assert _files_containing(tmp_path, SECRET.encode()) == []

    again = create_memory_store(data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None)
    await again.open()
    try:
        assert {m.id for m in await again.list()} == {leaky.id, other.id}
        kept = await again.get(other.id)
        assert kept.state == "approved" and kept.metadata.review is not None
        assert kept.metadata.review.comment == "ok"
        found = await again.search("oracle logon denied for the payroll job", limit=1)
        assert found[0].id == leaky.id
        assert [e["event"] for e in await again.history(other.id)] == ["add", "state"]
    finally:
        await again.close()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_second_process_gets_one_clear_error_naming_the_path(tmp_path: Path) -> None:
    store = create_memory_store(data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None)
    await store.open()
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from resync_ext.memory import StoreLocked, create_memory_store
        store = create_memory_store(data_dir={str(tmp_path)!r}, qdrant_url=None,
                                    qdrant_api_key=None)
        try:
            asyncio.run(store.open())
        except StoreLocked as e:
            print(e)
            sys.exit(3)
        sys.exit(0)
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
        )
    finally:
        await store.close()
    assert done.returncode == 3, done.stderr[-2000:]
    assert str(tmp_path / "memory" / "edge" / "memories") in done.stdout
    assert "another process" in done.stdout


@pytest.mark.slow
@pytest.mark.asyncio
async def test_qdrant_client_local_mode_stays_selectable(tmp_path: Path) -> None:
    store = create_memory_store(
        data_dir=tmp_path, qdrant_url=None, qdrant_api_key=None, engine="local"
    )
    await store.open()
    try:
        first = await store.add_turn(
            agent_id="a",
            question="Why is DB_SLOTS exhausted?",
            answer="Two jobs hold both slots.",
            evidence=[],
        )
        second = await store.add_turn(
            agent_id="a", question="Which jobs abended?", answer="PAYROLL_EXTRACT.", evidence=[]
        )
        await store.set_state(first.id, "rejected", review={"by": "ann"})
        assert [m.id for m in await store.list()] == [second.id, first.id]
        found = await store.search("jobs that abended", limit=5)
        assert found and found[0].id == second.id
        slots = "Why is DB_SLOTS exhausted?"
        assert first.id not in {m.id for m in await store.search(slots)}
        assert first.id in {m.id for m in await store.search(slots, include_rejected=True)}
        assert (await store.counts())["rejected"] == 1
        assert (await store.ping())["ok"] is True
    finally:
        await store.close()
    assert (tmp_path / "memory" / "local").is_dir()


def test_indexing_runs_in_a_child_process_and_keeps_every_point(tmp_path: Path) -> None:
    import qdrant_edge as qe

    path = tmp_path / "shard"
    shard = qe.EdgeShard.create(
        str(path), qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=16, distance=qe.Distance.Cosine))
    )
    rng = random.Random(1)
    points = [
        qe.Point(str(uuid.uuid4()), [rng.gauss(0, 1) for _ in range(16)], {"i": i})
        for i in range(500)
    ]
    shard.update(qe.UpdateOperation.upsert_points(points))
    shard.close()
    assert prepare(path, index_threshold=10_000) is False  # too few unindexed points: no child
    assert prepare(path, index_threshold=100) is True
    assert point_counts(path)[0] == 500
