"""The scheduler: jobs on a short interval, failures survived, one leader per data directory."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from resync_ext.scheduler import Scheduler

HOLDER = """
import sys, time
from pathlib import Path
from resync_ext.scheduler import LeaderLock
lock = LeaderLock(Path(sys.argv[1]))
print("held" if lock.try_acquire() else "busy", flush=True)
time.sleep(60)
"""


async def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_interval_job_runs_and_survives_a_job_that_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("TWS exploded")

    sched = Scheduler(tmp_path / "scheduler.lock", logging.getLogger("test.sched"))
    sched.start(interval_jobs={"audit": (0.1, flaky, True)}, cron_jobs={})
    try:
        assert sched.running and sched.lock.held
        await wait_for(lambda: len(runs) >= 3)
    finally:
        sched.stop()
    assert "scheduled job audit failed: RuntimeError: TWS exploded" in caplog.text
    assert sched.last_runs["audit"]["ok"] is True
    assert not sched.running and not sched.lock.held


@pytest.mark.asyncio
async def test_only_the_leader_runs_shared_work_and_a_follower_takes_over(tmp_path: Path) -> None:
    lock_path = tmp_path / "scheduler.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        shared: list[int] = []
        local: list[int] = []

        async def shared_job() -> None:
            shared.append(1)

        async def local_job() -> None:
            local.append(1)

        sched = Scheduler(lock_path, logging.getLogger("test.sched"), leader_retry_s=0.1)
        sched.start(
            interval_jobs={"audit": (0.05, shared_job, True), "watch": (0.05, local_job, False)},
            cron_jobs={},
        )
        try:
            await wait_for(lambda: len(local) >= 3)
            assert shared == [] and not sched.lock.held
            holder.kill()  # the leader dies: its flock goes with it
            holder.wait(timeout=10)
            await wait_for(lambda: sched.lock.held and len(shared) >= 2)
        finally:
            sched.stop()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_second_lock_in_another_process_is_refused(tmp_path: Path) -> None:
    from resync_ext.scheduler import LeaderLock

    lock = LeaderLock(tmp_path / "scheduler.lock")
    assert lock.try_acquire()
    out = subprocess.run(
        [sys.executable, "-c", HOLDER.replace("time.sleep(60)", ""), str(lock.path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == "busy"
    lock.release()
