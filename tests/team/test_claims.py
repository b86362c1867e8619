"""Nothing judged twice across replicas, and a lost replica's work resumes (audit claims).

Claims in one real PostgreSQL (``PostgresClaims``); auditors over one real embedded memory store
(as replicas over one Qdrant server) with a scripted judge that counts its calls.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from resync_ext.audit.auditor import Auditor, PassSummary
from resync_ext.audit.claims import PostgresClaims
from resync_ext.audit.review_queue_pg import SCHEMA, PostgresReviewQueue
from resync_ext.memory.factory import create_memory_store
from tests.team.postgres import postgres_cluster

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def team_db(pg_url: str) -> str:
    """The team database, emptied of Resync's tables."""
    sql(pg_url, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    return pg_url


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_store(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    s = create_memory_store(
        data_dir=tmp_path_factory.mktemp("memstore"), qdrant_url=None, qdrant_api_key=None
    )
    await s.open()
    yield s
    await s.close()


@pytest_asyncio.fixture(loop_scope="module")
async def store(shared_store: Any) -> Any:
    while page := await shared_store.list(limit=200):
        for m in page:
            await shared_store.delete(m.id)
    return shared_store


class CountingJudge:
    """Judges slowly enough for passes to overlap; counts each question it is asked."""

    def __init__(self, delay: float = 0.05) -> None:
        self.calls: Counter[str] = Counter()
        self.delay = delay

    async def __call__(self, *, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        self.calls[question] += 1
        await asyncio.sleep(self.delay)
        if question.startswith("doubtful"):
            return {"verdict": "suspicious", "confidence": 0.6, "reason": "not in the evidence"}
        return {"verdict": "ok", "confidence": 0.9, "reason": "supported by the log"}


async def add(store: Any, question: str) -> str:
    m = await store.add_turn(
        agent_id="tws-troubleshooter",
        question=question,
        answer="PAYROLL_EXTRACT abended with ORA-01017",
        evidence=[{"tool": "get_job_log", "args": {"job": "PAYROLL_EXTRACT"}, "summary": "x"}],
    )
    return str(m.id)


async def test_each_memory_is_claimed_by_one_replica_until_released(team_db: str) -> None:
    a, b = PostgresClaims(team_db, owner="a"), PostgresClaims(team_db, owner="b")
    try:
        assert await a.claim(["m1", "m2"]) == {"m1", "m2"}
        assert await b.claim(["m2", "m3"]) == {"m3"}
        assert await a.claim(["m1"]) == set(), "held, even by the same replica's other task"
        await a.release("m2")
        assert await b.claim(["m2"]) == {"m2"}
        # Many replicas at once over the same memories: each memory goes to exactly one.
        many = [PostgresClaims(team_db, owner=f"r{i}") for i in range(4)]
        ids = [f"n{i:02d}" for i in range(40)]
        got = await asyncio.gather(
            *(c.claim(list(reversed(ids)) if i % 2 else ids) for i, c in enumerate(many))
        )
        assert sum(len(g) for g in got) == len(ids) and set().union(*got) == set(ids)
        for c in many:
            await c.close()
    finally:
        await a.close()
        await b.close()


async def test_a_dead_replicas_claim_is_taken_over_after_its_lease(team_db: str) -> None:
    a = PostgresClaims(team_db, owner="alive", lease_s=60)
    try:
        await a.claim([])  # nothing to claim: no table needed
        await a.claim(["warm-up"])
        sql(
            team_db,
            f"INSERT INTO {SCHEMA}.audit_claims (memory_id, owner, expires_at) VALUES "
            "('expired', 'dead', now() - interval '1 second'), "
            "('leased', 'dead', now() + interval '5 minutes')",
        )
        assert await a.claim(["expired", "leased"]) == {"expired"}
        owners = dict(sql(team_db, f"SELECT memory_id, owner FROM {SCHEMA}.audit_claims"))
        assert owners == {"warm-up": "alive", "expired": "alive", "leased": "dead"}
    finally:
        await a.close()
    assert sql(team_db, f"SELECT memory_id FROM {SCHEMA}.audit_claims") == [("leased",)], (
        "closing releases what the replica held"
    )


async def test_a_judging_replica_renews_its_lease(team_db: str) -> None:
    holder = PostgresClaims(team_db, owner="slow-judge", lease_s=0.6)
    other = PostgresClaims(team_db, owner="other", lease_s=0.6)
    try:
        assert await holder.claim(["m1"]) == {"m1"}
        await asyncio.sleep(1.5)  # more than two leases: renewed every 0.2 s
        assert await other.claim(["m1"]) == set()
        await holder.close()  # the holder stops renewing and releases
        assert await other.claim(["m1"]) == {"m1"}
    finally:
        await other.close()


@pytest_asyncio.fixture(loop_scope="module")
async def make_auditor(
    store: Any, team_db: str, tmp_path: Path
) -> AsyncIterator[Callable[[CountingJudge, str], Auditor]]:
    """Build replicas' auditors (own queue and claims, one database and store); close them."""
    made: list[tuple[PostgresReviewQueue, PostgresClaims]] = []

    def make(judge: CountingJudge, owner: str) -> Auditor:
        queue, claims = PostgresReviewQueue(team_db), PostgresClaims(team_db, owner=owner)
        made.append((queue, claims))
        return Auditor(
            store,
            judge,
            queue,
            concurrency=2,
            page_size=4,
            events_path=tmp_path / owner / "passes.jsonl",
            claims=claims,
        )

    yield make
    for queue, claims in made:
        await claims.close()
        queue.close()


async def test_two_replicas_racing_over_new_memories_judge_each_once(
    store: Any, team_db: str, make_auditor: Callable[[CountingJudge, str], Auditor]
) -> None:
    questions = [f"{'doubtful' if i % 3 == 0 else 'good'} question {i}" for i in range(12)]
    ids = [await add(store, q) for q in questions]
    judge = CountingJudge()
    a = make_auditor(judge, "replica-a")
    b = make_auditor(judge, "replica-b")
    # The leader's scheduled pass, the other replica's pass and fresh audits of chat turns.
    results = await asyncio.gather(
        a.run_pass(), b.run_pass(), *(b.audit_memory(i) for i in ids[:4]), a.audit_memory(ids[5])
    )
    assert set(judge.calls) == set(questions)
    assert all(n == 1 for n in judge.calls.values()), judge.calls
    assert sum(r.audited for r in results) == 12 and sum(r.errors for r in results) == 0
    assert await store.list(state="new", limit=50) == []
    flagged = {ids[i] for i in range(12) if i % 3 == 0}
    assert await a.queue.memory_ids() == flagged, "each flagged memory filed once, in one queue"
    assert sql(team_db, f"SELECT count(*) FROM {SCHEMA}.audit_claims") == [(0,)]


async def test_a_page_read_before_another_replica_judged_it_is_not_judged_again(
    store: Any, team_db: str, make_auditor: Callable[[CountingJudge, str], Auditor]
) -> None:
    await add(store, "good question read twice")
    stale_page = await store.list(state="new", limit=10)
    judge = CountingJudge()
    first = await make_auditor(judge, "a").run_pass()
    assert first.audited == 1
    # The other replica read the page while it was new and claims it after the release.
    summary = PassSummary()
    await make_auditor(judge, "b").audit_memories(stale_page, summary)
    assert judge.calls["good question read twice"] == 1 and summary.audited == 0


async def test_a_lost_replicas_memories_are_judged_by_a_later_pass(
    store: Any, team_db: str, make_auditor: Callable[[CountingJudge, str], Auditor]
) -> None:
    lost = [await add(store, f"good question lost {i}") for i in range(2)]
    other = await add(store, "good question nobody held")
    judge = CountingJudge()
    survivor = make_auditor(judge, "survivor")
    await survivor.claims.claim(["warm-up"])  # makes the table
    await survivor.claims.release("warm-up")
    # The lost replica held both when it died; the lease of one has already run out.
    sql(
        team_db,
        f"INSERT INTO {SCHEMA}.audit_claims (memory_id, owner, expires_at) VALUES "
        "(:a, 'lost', now() - interval '1 second'), (:b, 'lost', now() + interval '5 minutes')",
        a=lost[0],
        b=lost[1],
    )
    first = await survivor.run_pass()
    assert first.audited == 2
    assert set(judge.calls) == {"good question lost 0", "good question nobody held"}
    assert (await store.get(lost[1])).metadata.state == "new", "its lease still runs"
    assert (await store.get(other)).metadata.state == "audited_ok"
    sql(
        team_db,
        f"UPDATE {SCHEMA}.audit_claims SET expires_at = now() WHERE memory_id = :b",
        b=lost[1],
    )
    second = await survivor.run_pass()
    assert second.audited == 1 and judge.calls["good question lost 1"] == 1
    assert all(n == 1 for n in judge.calls.values())


async def test_a_database_that_is_down_gives_no_claims(caplog: pytest.LogCaptureFixture) -> None:
    from tests.server_process import free_port

    claims = PostgresClaims(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with caplog.at_level("WARNING"):
            assert await claims.claim(["m1", "m2"]) == set()
        assert "cannot claim 2 memories" in caplog.text
    finally:
        await claims.close()


async def test_a_team_database_gives_the_auditor_shared_claims(
    team_db: str, tmp_path: Path
) -> None:
    import logging

    from resync_ext.app import ResyncApp
    from resync_ext.services import Services

    app = ResyncApp(data_dir=str(tmp_path), team_database_url=team_db, audit_claim_lease_s=42.0)
    claims = Services(app, logging.getLogger("test"))._build_claims()
    assert isinstance(claims, PostgresClaims) and claims.lease_s == 42.0
    await claims.close()
    one_machine = ResyncApp(data_dir=str(tmp_path))
    assert Services(one_machine, logging.getLogger("test"))._build_claims() is None
