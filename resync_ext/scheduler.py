"""Scheduled work on the server's event loop: audit passes, the morning report, the config watch.

APScheduler's ``AsyncIOScheduler`` runs the jobs as tasks on the server's loop. Every job is wrapped
so that a failure is one log line and the next run still happens; jobs coalesce, never overlap
(``max_instances=1``) and tolerate a late start (``misfire_grace_time``).

When several servers share the work (JupyterHub: servers sharing one data directory, or service
replicas on several machines), exactly one runs the shared jobs (audit and report): the holder of
the leader lock (resync_ext/scheduler_lock.py: a ``flock`` on ``<data_dir>/scheduler.lock`` by
default, a PostgreSQL advisory lock when ``scheduler_lock_url`` is set). The others try the lock
every ``leader_retry_s`` seconds and take over when the holder goes away; the holder checks it
still holds the lock as often and steps down when it lost it. Local work (the config watch) runs
everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resync_ext.scheduler_lock import FileLeaderLock, SchedulerLock

LEADER_RETRY_S = 30.0
MISFIRE_GRACE_S = 300

Job = Callable[[], Awaitable[Any]]

#: The single-server lock under its first name (a flock on the data directory's lock file).
LeaderLock = FileLeaderLock

__all__ = ["FileLeaderLock", "Job", "LeaderLock", "Scheduler", "SchedulerLock"]


class Scheduler:
    """Own the AsyncIOScheduler; shared jobs run only while this server holds the leader lock."""

    def __init__(
        self,
        lock: Path | SchedulerLock,
        log: logging.Logger,
        *,
        leader_retry_s: float = LEADER_RETRY_S,
    ) -> None:
        """``lock`` is the leader lock, or the path of the lock file (the single-server default)."""
        self.log = log
        self.leader_retry_s = leader_retry_s
        self.lock: SchedulerLock = FileLeaderLock(lock) if isinstance(lock, Path) else lock
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
            # A lock that may wait on the network is first tried by the job, at once, off the loop.
            first = {"next_run_time": datetime.now(UTC)} if self.lock.blocking else {}
            sched.add_job(
                self._campaign,
                IntervalTrigger(seconds=self.leader_retry_s),
                id="leader-lock",
                **first,
            )
        if not self.lock.blocking:
            self._campaign_now()
        sched.start()
        self._scheduler = sched
        self.log.info(
            "scheduler started with %d job(s); %s",
            len(interval_jobs) + len(cron_jobs),
            "this server runs the shared work" if self.lock.held else "another server leads",
        )

    def _campaign_now(self) -> None:
        """Check a held lock, or try to take a free one; log every change of leader."""
        if self.lock.held:
            if not self.lock.check():
                self.log.warning("scheduler: lost the leader lock; another server takes over")
        elif self.lock.try_acquire():
            self.log.info("scheduler: this server now runs the shared scheduled work")

    async def _campaign(self) -> None:
        if self.lock.blocking:
            await asyncio.to_thread(self._campaign_now)
        else:
            self._campaign_now()

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
