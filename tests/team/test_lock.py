"""The single-runner rule across machines: two schedulers, one PostgreSQL, one runs the schedule.

Each scheduler runs in its own process (as two service replicas would) with a PostgreSQL advisory
lock (``scheduler_lock_url``); the shared job appends ``<pid>`` to a file every 0.2 s. Exactly one
process writes; after a SIGKILL of that one, the other takes over within the lock's retry
interval (plus one job interval).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from resync_ext.scheduler_lock import PostgresLeaderLock
from tests.server_process import free_port
from tests.team.postgres import postgres_cluster

pytestmark = pytest.mark.slow

RETRY_S = 1.0
JOB_S = 0.2

REPLICA = """
import asyncio, logging, os, sys
from pathlib import Path
from resync_ext.scheduler import Scheduler
from resync_ext.scheduler_lock import make_leader_lock

logging.basicConfig(level=logging.INFO)
url, out, retry, every = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])

async def shared() -> None:
    with out.open("a") as f:
        f.write(f"{os.getpid()}\\n")

async def main() -> None:
    log = logging.getLogger("replica")
    sched = Scheduler(make_leader_lock(Path("."), url, log), log, leader_retry_s=retry)
    sched.start(interval_jobs={"audit": (every, shared, True)}, cron_jobs={})
    print("started", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


def writers(out: Path) -> list[int]:
    """The pids that ran the shared job, in order of their runs."""
    if not out.exists():
        return []
    return [int(line) for line in out.read_text().split()]


def advisory_locks(url: str) -> int:
    """How many advisory locks PostgreSQL has granted right now."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            sql = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def wait_until(predicate: object, timeout: float) -> float:
    """Wait for ``predicate()``; return the seconds it took."""
    t0 = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - t0


def test_one_replica_runs_the_schedule_and_the_other_takes_over(
    pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "runs.txt"
    cmd = [sys.executable, "-c", REPLICA, pg_url, str(out), str(RETRY_S), str(JOB_S)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(2)]
    procs = []
    for log in logs:
        with log.open("wb") as f:
            procs.append(subprocess.Popen(cmd, cwd=tmp_path, stdout=f, stderr=subprocess.STDOUT))
    try:
        wait_until(lambda: len(writers(out)) >= 5, 30)
        time.sleep(3 * RETRY_S)  # several campaigns of the other replica: it must stay out
        ran = writers(out)
        assert len(set(ran)) == 1, f"both replicas ran the shared job: {ran}"
        leader = next(p for p in procs if p.pid == ran[0])
        follower = next(p for p in procs if p is not leader)
        follower_log = logs[procs.index(follower)]
        assert "now runs the shared" not in follower_log.read_text()
        assert advisory_locks(pg_url) == 1, "the leadership is held in PostgreSQL"
        assert len(ran) >= 3 * RETRY_S / JOB_S - 2, "the leader kept running the schedule"

        os.kill(leader.pid, signal.SIGKILL)
        leader.wait(timeout=10)
        at_kill = len(writers(out))
        took = wait_until(lambda: follower.pid in writers(out), RETRY_S + JOB_S + 5)
        assert took <= RETRY_S + JOB_S + 1.0, f"the follower took over after {took:.1f}s"
        assert "this server now runs the shared scheduled work" in follower_log.read_text()
        wait_until(lambda: writers(out).count(follower.pid) >= 3, 10)
        after = writers(out)[at_kill:]
        assert after and set(after) == {follower.pid}, after
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)


def test_a_leader_whose_session_is_gone_steps_down(pg_url: str) -> None:
    """The database ended the leader's session (lost connection, admin, failover): its next
    check says so, and another replica can take the lock."""
    first, second = PostgresLeaderLock(pg_url), PostgresLeaderLock(pg_url)
    try:
        assert first.try_acquire() and first.check()
        assert not second.try_acquire()
        engine = create_engine(pg_url, poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            )
        engine.dispose()
        assert not first.check() and not first.held
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


def test_an_unreachable_database_is_not_leadership(caplog: pytest.LogCaptureFixture) -> None:
    lock = PostgresLeaderLock(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")
    with caplog.at_level(logging.WARNING):
        assert not lock.try_acquire()
    assert not lock.held and "cannot reach the database" in caplog.text
