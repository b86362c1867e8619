"""Scheduled work on the server's event loop: audit passes, the morning report, the config watch.

APScheduler's ``AsyncIOScheduler`` runs the jobs as tasks on the server's loop. Every job is wrapped
so that a failure is one log line and the next run still happens; jobs coalesce, never overlap
(``max_instances=1``) and tolerate a late start (``misfire_grace_time``).

When several servers share a data directory (JupyterHub, one server per user), exactly one runs the
shared work (audit and report): the holder of an exclusive ``flock`` on
``<data_dir>/scheduler.lock``. The others retry the lock every ``LEADER_RETRY_S`` seconds and take
over if the holder goes away (the kernel releases a flock when its process dies). Local work (the
config watch) runs everywhere.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LEADER_RETRY_S = 30.0
MISFIRE_GRACE_S = 300

Job = Callable[[], Awaitable[Any]]


class LeaderLock:
    """An exclusive, non-blocking ``flock`` on a file; released when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this process holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (closing the file releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Scheduler:
    """Own the AsyncIOScheduler; shared jobs run only while this server holds the leader lock."""

    def __init__(
        self, lock_path: Path, log: logging.Logger, *, leader_retry_s: float = LEADER_RETRY_S
    ) -> None:
        self.log = log
        self.leader_retry_s = leader_retry_s
        self.lock = LeaderLock(lock_path)
        self._scheduler: Any = None
        self._shared: list[tuple[str, Job, Any]] = []
        self.last_runs: dict[str, dict[str, Any]] = {}

    def _wrap(self, name: str, job: Job, *, shared: bool) -> Job:
        async def run() -> None:
            if shared and not self.lock.held:
                return
            t0 = time.perf_counter()
            try:
                await job()
            except Exception as e:
                self.last_runs[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                self.log.error("scheduled job %s failed: %s: %s", name, type(e).__name__, e)
                return
            self.last_runs[name] = {"ok": True, "seconds": round(time.perf_counter() - t0, 3)}

        return run

    def start(
        self,
        *,
        interval_jobs: dict[str, tuple[float, Job, bool]],
        cron_jobs: dict[str, tuple[str, Job]],
    ) -> None:
        """Start on the running loop: ``interval_jobs`` name → (seconds, job, shared);
        ``cron_jobs`` name → (crontab, job), always shared."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S}
        sched = AsyncIOScheduler(job_defaults=defaults)
        for name, (seconds, job, shared) in interval_jobs.items():
            sched.add_job(
                self._wrap(name, job, shared=shared), IntervalTrigger(seconds=seconds), id=name
            )
        for name, (crontab, job) in cron_jobs.items():
            sched.add_job(
                self._wrap(name, job, shared=True), CronTrigger.from_crontab(crontab), id=name
            )
        if interval_jobs or cron_jobs:
            sched.add_job(
                self._campaign, IntervalTrigger(seconds=self.leader_retry_s), id="leader-lock"
            )
        self._campaign()
        sched.start()
        self._scheduler = sched
        self.log.info(
            "scheduler started with %d job(s); %s",
            len(interval_jobs) + len(cron_jobs),
            "this server runs the shared work" if self.lock.held else "another server leads",
        )

    def _campaign(self) -> None:
        if not self.lock.held and self.lock.try_acquire():
            self.log.info("scheduler: this server now runs the shared scheduled work")

    @property
    def running(self) -> bool:
        """Whether the scheduler is running."""
        return bool(self._scheduler is not None and self._scheduler.running)

    def jobs(self) -> list[dict[str, Any]]:
        """The scheduled jobs with their next run time."""
        if self._scheduler is None:
            return []
        return [
            {"id": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
            for j in self._scheduler.get_jobs()
        ]

    def stop(self) -> None:
        """Stop without waiting for running jobs; release the leader lock."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        self.lock.release()
