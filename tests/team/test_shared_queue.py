"""One review queue for every replica: PostgresReviewQueue instances on one real PostgreSQL.

Each queue instance stands for one replica of the team service. What one files, the other
lists and decides; two decisions racing on one item end as the file queue's rules say (one
decision, the other an idempotent repeat, a second opinion or a conflict); a new instance (a
restarted replica) finds every decision. The file queue and the PostgreSQL queue answer the
same script of operations the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from resync_ext.audit.errors import (
    BadBatchName,
    BatchNotFound,
    BatchPending,
    DecisionConflict,
    ItemNotFound,
    QueueUnavailable,
)
from resync_ext.audit.review_queue import ReviewItem, ReviewQueue, ReviewQueueProtocol
from resync_ext.audit.review_queue_pg import SCHEMA, PostgresReviewQueue
from tests.server_process import ServerProcess, free_port
from tests.team.postgres import postgres_cluster

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

WHEN = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
NAME = "audit-20261124T073000Z"


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest_asyncio.fixture(loop_scope="module")
async def replicas(pg_url: str) -> AsyncIterator[tuple[PostgresReviewQueue, PostgresReviewQueue]]:
    """Two replicas' queues on an empty team database."""
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()
    a, b = PostgresReviewQueue(pg_url), PostgresReviewQueue(pg_url)
    yield a, b
    a.close()
    b.close()


def item(n: int, verdict: str = "suspicious") -> ReviewItem:
    return ReviewItem(
        memory_id=f"mem-{n:04d}",
        question=f"why did PAYROLL_{n:02d} fail?",
        answer="ORA-01017: invalid username/password",
        verdict=verdict,  # type: ignore[arg-type]
        confidence=0.6,
        reason="the rerun advice is not in the evidence",
        evidence=[{"tool": "get_job_log", "args": {"job": f"PAYROLL_{n:02d}"}}],
    )


async def test_what_one_replica_files_the_other_lists_and_decides(
    replicas: tuple[PostgresReviewQueue, PostgresReviewQueue],
) -> None:
    a, b = replicas
    assert await a.add_items([item(1), item(2)], now=WHEN) == NAME
    assert await b.list_batches() == [
        {
            "name": NAME,
            "created": "2026-11-24T07:30:00Z",
            "total": 2,
            "pending": 2,
            "approved": 0,
            "rejected": 0,
            "corrected": 0,
        }
    ]
    decided, changed = await b.decide(
        "mem-0001", "reject", user="rita", comment="rerun with password=hunter2 is wrong"
    )
    assert changed and decided.status == "rejected" and decided.decided_by == "rita"
    seen = await a.find("mem-0001")
    assert seen is not None and seen.status == "rejected" and seen.decided_by == "rita"
    assert seen.comment == "rerun with password=*** is wrong", "the comment is stored masked"
    assert [i.memory_id for i in await a.decisions()] == ["mem-0001"]
    # Another pass in the same second, on the other replica, joins the batch without doubles.
    assert await b.add_items([item(2), item(3)], now=WHEN) == NAME
    batch = await a.get_batch(NAME)
    assert [i.memory_id for i in batch.items] == ["mem-0001", "mem-0002", "mem-0003"]
    assert await a.memory_ids() == {"mem-0001", "mem-0002", "mem-0003"}


async def test_racing_decisions_on_one_item_record_one(
    replicas: tuple[PostgresReviewQueue, PostgresReviewQueue],
) -> None:
    a, b = replicas
    n = 12
    await a.add_items([item(i) for i in range(n)], now=WHEN)
    # The same reviewer's approval arriving at both replicas (a double click, a retry).
    same = await asyncio.gather(
        *(
            q.decide(f"mem-{i:04d}", "approve", user="rita", comment=None)
            for i in range(n)
            for q in (a, b)
        )
    )
    for i in range(n):
        first, second = same[2 * i], same[2 * i + 1]
        assert first[0].status == second[0].status == "approved"
        assert [first[1], second[1]].count(True) == 1, f"item {i}: one decision, one repeat"
    # Two reviewers deciding an item the opposite ways at the same moment.
    await a.add_items([item(i) for i in range(n, 2 * n)], now=WHEN)

    async def attempt(q: ReviewQueueProtocol, memory_id: str, action: Any, user: str) -> Any:
        try:
            return await q.decide(memory_id, action, user=user, comment=f"{user} says so")
        except DecisionConflict as e:
            return e

    raced = await asyncio.gather(
        *(
            attempt(q, f"mem-{i:04d}", action, user)
            for i in range(n, 2 * n)
            for q, action, user in ((a, "approve", "rita"), (b, "reject", "sam"))
        )
    )
    for i in range(n):
        outcomes = raced[2 * i : 2 * i + 2]
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, DecisionConflict)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        winner = won[0][0]
        assert won[0][1] is True
        assert f"already {winner.status} by {winner.decided_by}" in str(lost[0])
        assert "kept as a second opinion" in str(lost[0])
        stored = await b.find(winner.memory_id)
        assert stored is not None and stored.status == winner.status
        assert stored.decided_by == winner.decided_by
        assert sorted(o.by for o in stored.opinions) == ["rita", "sam"]


async def test_decisions_survive_a_new_replica_and_archive_is_shared(
    pg_url: str, replicas: tuple[PostgresReviewQueue, PostgresReviewQueue]
) -> None:
    a, b = replicas
    await a.add_items([item(1), item(2)], now=WHEN)
    await a.decide("mem-0001", "approve", user="rita", comment="ok")
    with pytest.raises(BatchPending):
        await b.archive(NAME)
    await b.decide("mem-0002", "correct", user="sam", comment=None, answer="rerun after reset")
    a.close()
    restarted = PostgresReviewQueue(pg_url)
    try:
        assert [(i.memory_id, i.status) for i in await restarted.decisions()] == [
            ("mem-0001", "approved"),
            ("mem-0002", "approved"),
        ]
        await restarted.archive(NAME)
        assert await b.list_batches() == []
        with pytest.raises(BatchNotFound):
            await b.get_batch(NAME)
        archived = await b.find("mem-0002")
        assert archived is not None and archived.corrected_answer == "rerun after reset"
        with pytest.raises(ItemNotFound):  # an archived item is no longer decided
            await b.decide("mem-0002", "reject", user="sam", comment=None)
        assert len(await b.decisions()) == 2
    finally:
        restarted.close()


async def run_script(q: ReviewQueueProtocol) -> list[Any]:
    """The same operations on any queue; what each returned or raised, timestamps left out."""
    out: list[Any] = []

    async def step(coro: Any) -> None:
        try:
            result = await coro
        except Exception as e:
            out.append((type(e).__name__, str(e)))
            return
        out.append(_plain(result))

    await step(q.add_items([item(1), item(2, "incorrect"), item(3)], now=WHEN))
    await step(q.add_items([], now=WHEN))
    await step(q.decide("mem-0001", "approve", user="rita", comment="  fine  "))
    await step(q.decide("mem-0001", "approve", user="rita", comment=None))
    await step(q.decide("mem-0001", "reject", user="rita", comment=None))
    await step(q.decide("mem-0001", "reject", user="sam", comment="token ghp_" + "a" * 36))
    await step(q.decide("mem-0001", "correct", user="rita", comment=None, answer="  x  "))
    await step(q.decide("mem-0002", "correct", user="sam", comment=None, answer=" "))
    await step(q.decide("mem-0002", "reject", user="sam", comment="wrong code"))
    await step(q.decide("mem-9999", "approve", user="sam", comment=None))
    await step(q.list_batches())
    await step(q.archive(NAME))
    await step(q.decide("mem-0003", "approve", user="sam", comment=None))
    await step(q.archive(NAME))
    await step(q.archive("audit-20261124T073001Z"))
    await step(q.get_batch("../../etc/passwd"))
    await step(q.list_batches())
    await step(q.find("mem-0001"))
    await step(q.find("mem-0404"))
    await step(q.decisions())
    await step(q.memory_ids())
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, ReviewItem):
        data = value.model_dump(exclude={"decided_at"})
        data["opinions"] = [{k: v for k, v in o.items() if k != "at"} for o in data["opinions"]]
        return data
    return value


async def test_the_postgres_queue_answers_as_the_file_queue(
    replicas: tuple[PostgresReviewQueue, PostgresReviewQueue], tmp_path: Path
) -> None:
    expected = await run_script(ReviewQueue(tmp_path))
    got = await run_script(replicas[0])
    assert got == expected
    # The script does reach the answers it is meant to compare.
    names = {e[0] for e in expected if isinstance(e, tuple) and isinstance(e[0], str)}
    assert {"DecisionConflict", "InvalidReview", "ItemNotFound", "BatchPending"} <= names
    assert {"BatchNotFound", "BadBatchName"} <= names


async def test_a_database_that_is_down_is_unavailable_not_a_crash() -> None:
    q = PostgresReviewQueue(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with pytest.raises(QueueUnavailable) as e:
            await q.list_batches()
        assert e.value.http_status == 503
    finally:
        q.close()


async def test_a_bad_batch_name_is_refused_as_bad_input(
    replicas: tuple[PostgresReviewQueue, PostgresReviewQueue],
) -> None:
    with pytest.raises(BadBatchName):
        await replicas[0].archive("audit-1'; DROP TABLE x; --")


async def test_the_team_database_defaults_to_the_lock_database(tmp_path: Path) -> None:
    from resync_ext.app import ResyncApp
    from resync_ext.config_check import validate_settings
    from resync_ext.errors import ConfigError

    url = "postgresql://resync:S3cr3t@db.example.com/resync"
    assert ResyncApp(data_dir=str(tmp_path), scheduler_lock_url=url).team_database_url == url
    one_machine = ResyncApp(data_dir=str(tmp_path), scheduler_lock_url=url, team_database_url="")
    assert one_machine.team_database_url == ""
    app = ResyncApp(data_dir=str(tmp_path), team_database_url="mysql://ops:S3cr3t@db/resync")
    with pytest.raises(ConfigError) as exc:
        validate_settings(app)
    assert "ResyncApp.team_database_url=" in exc.value.message
    assert "S3cr3t" not in exc.value.message
    app = ResyncApp(data_dir=str(tmp_path), audit_claim_lease_s=1.0)
    with pytest.raises(ConfigError, match="audit_claim_lease_s"):
        validate_settings(app)


async def test_two_server_replicas_serve_one_review_queue(pg_url: str, tmp_path: Path) -> None:
    """Two real Jupyter servers with Resync on one team database show and archive one queue."""
    sql_engine = create_engine(pg_url, poolclass=NullPool)
    with sql_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    sql_engine.dispose()
    traits = {
        "team_database_url": pg_url,
        "open_memory": False,
        "lm_model": "openai/stub",
        "lm_warm_at_start": False,
        "audit_interval_min": 0.0,
        "report_cron": "",
        "tws_url": "http://127.0.0.1:9",
    }
    servers = [ServerProcess(tmp_path / f"replica-{i}", traits) for i in range(2)]
    # The auditor of some replica files its pass; a reviewer decides on some replica.
    auditor_side = PostgresReviewQueue(pg_url)
    try:
        for server in servers:
            server.start()
        await auditor_side.add_items([item(1), item(2)], now=WHEN)
        with servers[0].client() as a, servers[1].client() as b:
            listed = [c.get("/resync/api/audit/flags").json()["batches"] for c in (a, b)]
            assert listed[0] == listed[1] and [x["pending"] for x in listed[0]] == [2]
            got = b.get(f"/resync/api/audit/flags/{NAME}").json()
            assert [i["memory_id"] for i in got["items"]] == ["mem-0001", "mem-0002"]
            assert a.delete(f"/resync/api/audit/flags/{NAME}").status_code == 409
            for n in (1, 2):
                await auditor_side.decide(f"mem-{n:04d}", "approve", user="rita", comment=None)
            assert b.get("/resync/api/audit/flags").json()["batches"][0]["approved"] == 2
            assert a.delete(f"/resync/api/audit/flags/{NAME}").status_code == 204
            assert b.get("/resync/api/audit/flags").json() == {"batches": []}
            assert b.get(f"/resync/api/audit/flags/{NAME}").status_code == 404
        for server in servers:  # neither kept a queue of its own
            assert not list((server.data_dir / "audit" / "flags").glob("*.json"))
    finally:
        auditor_side.close()
        for server in servers:
            server.stop()
