"""Read-only async client for the HWA/TWS REST API v2 (pool, TTL cache, retries, breaker).

Every request passes through ``guard.ReadOnlyTransport``, which refuses anything but a GET/HEAD of
an allow-listed read endpoint on the configured host before a byte is sent, whatever code builds
the request. Requests follow the product's document (REST API v2, 10.1.0.1) to the letter: each
says what it accepts (job logs are ``text/plain``), required parameters are sent with the
document's defaults (``plan_filter`` on counts), and ``plan_id`` reads a plan other than the
current one where the document offers it. The transport half lives in ``reader.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .errors import TWSBadRequest, TWSNotFound
from .guard import API
from .log_reader import BoundedLog
from .models import (
    EngineInfo,
    HealthStatus,
    Job,
    JobCount,
    JobIssue,
    JobStream,
    Page,
    Resource,
    Workstation,
    parse_flow_node,
)
from .reader import TEXT, Reader

#: ``plan_filter`` defaults of the document (required on the count endpoints)
ALL_JOBS = "/@/@#/@/@.@"
ALL_JOB_STREAMS = "/@/@#/@/@"


class TWSClient(Reader):
    """Read the HWA plan through REST API v2; never writes."""

    # -- engine -----------------------------------------------------------------------------

    async def engine_info(self, *, fresh: bool = False) -> EngineInfo:
        """Return the engine's version, time zone and licence."""
        return await self._get(
            "/engine/info", kind="static", fresh=fresh, parse=EngineInfo.model_validate
        )

    async def ping(self) -> float:
        """Read engine info once, uncached and without retries; return the latency in seconds."""
        start = time.perf_counter()
        await self._fetch("/engine/info", {}, attempts=1)
        return time.perf_counter() - start

    # -- jobs -------------------------------------------------------------------------------

    async def list_jobs(
        self,
        oql: str | None = None,
        *,
        limit: int | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> Page[Job]:
        """Return jobs in the plan (the current one unless ``plan_id``) matching ``oql``."""
        return await self._list(
            "/plan/job", oql, Job, limit=limit, fresh=fresh, params={"plan_id": plan_id}
        )

    async def count_jobs(
        self,
        group_by: str | Sequence[str] | None = None,
        *,
        plan_filter: str | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> JobCount:
        """Count jobs in plan, optionally grouped by ``status``, ``workstation`` or ``folder``."""
        groups = [group_by] if isinstance(group_by, str) else list(group_by or [])
        params = {
            "grouping_filters": ",".join(groups) or None,
            "plan_filter": plan_filter or ALL_JOBS,  # required by the document
            "plan_id": plan_id,
        }
        return await self._get(
            "/plan/job/count", params, fresh=fresh, parse=JobCount.model_validate
        )

    async def get_job(self, job_id: str, *, plan_id: str | None = None, fresh: bool = False) -> Job:
        """Return one job in plan by id, with its dependencies."""
        return await self._get(
            f"/plan/job/{_seg(job_id)}",
            {"plan_id": plan_id},
            fresh=fresh,
            parse=Job.model_validate,
        )

    async def job_issues(
        self, oql: str | None = None, *, plan_filter: str | None = None, fresh: bool = False
    ) -> list[JobIssue]:
        """Return the issues the engine itself reports on the jobs matching ``oql``."""
        return await self._get(
            "/plan/job/issues",
            {"oql": oql, "plan_filter": plan_filter},
            fresh=fresh,
            parse=_parse_issues,
        )

    async def read_job_log(
        self,
        run_id: str | None = None,
        *,
        job_id: str | None = None,
        line_range: tuple[int, int] | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> BoundedLog:
        """Read a run's job log within ``max_log_bytes``: its head, error lines and tail.

        The log is streamed and never held whole; the cache keeps the bounded result. The
        document offers ``from_line``/``to_line`` but no line count, so a tail cannot be asked
        for directly: ``line_range`` asks the engine for a range, otherwise the whole log is
        streamed through the bound.
        """
        if run_id is None:
            if job_id is None:
                raise ValueError("give run_id or job_id")
            run = (await self.get_job(job_id, plan_id=plan_id, fresh=fresh)).latest_run
            if run is None or not run.id:
                raise TWSNotFound(
                    "the job has not run yet: no job log",
                    status=404,
                    path=f"{API}/plan/job/{job_id}",
                )
            run_id = run.id
        params: dict[str, Any] = {"plan_id": plan_id}
        if line_range:
            params.update(from_line=line_range[0], to_line=line_range[1])
        log: BoundedLog = await self._get(
            f"/plan/job/run/{_seg(run_id)}/joblog",
            params,
            text=True,
            accept=TEXT,
            fresh=fresh,
            body=self._bounded_text,
        )
        return log

    async def get_job_log(
        self,
        run_id: str | None = None,
        *,
        job_id: str | None = None,
        tail_lines: int | None = None,
        line_range: tuple[int, int] | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> str:
        """Return a run's job log as text (by run id, or the latest run of ``job_id``), bounded
        to ``max_log_bytes`` (a marker says where lines were left out)."""
        log = await self.read_job_log(
            run_id, job_id=job_id, line_range=line_range, plan_id=plan_id, fresh=fresh
        )
        text = log.text
        if tail_lines is not None:
            lines = text.splitlines()
            text = "\n".join(lines[-tail_lines:] if tail_lines > 0 else [])
        return text

    async def job_predecessors(
        self, job_id: str, depth: int = 1, *, plan_id: str | None = None, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return the jobs and streams this job depends on, ``depth`` levels up."""
        return await self._flow(f"/plan/job/{_seg(job_id)}/predecessors", depth, plan_id, fresh)

    async def job_successors(
        self, job_id: str, depth: int = 1, *, plan_id: str | None = None, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return the jobs and streams that depend on this job, ``depth`` levels down."""
        return await self._flow(f"/plan/job/{_seg(job_id)}/successors", depth, plan_id, fresh)

    async def _flow(
        self, path: str, depth: int, plan_id: str | None, fresh: bool
    ) -> list[Job | JobStream]:
        nodes: list[Job | JobStream] = await self._get(
            path, {"depth": max(1, depth), "plan_id": plan_id}, fresh=fresh, parse=_parse_flow
        )
        return list(nodes)

    # -- job streams ------------------------------------------------------------------------

    async def list_job_streams(
        self,
        oql: str | None = None,
        *,
        limit: int | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> Page[JobStream]:
        """Return job streams in the plan matching ``oql``."""
        return await self._list(
            "/plan/jobstream",
            oql,
            JobStream,
            limit=limit,
            fresh=fresh,
            params={"plan_id": plan_id},
        )

    async def get_job_stream(
        self, stream_id: str, *, plan_id: str | None = None, fresh: bool = False
    ) -> JobStream:
        """Return one job stream by id, with its jobs and dependencies."""
        return await self._get(
            f"/plan/jobstream/{_seg(stream_id)}",
            {"plan_id": plan_id},
            fresh=fresh,
            parse=JobStream.model_validate,
        )

    async def job_stream_predecessors(
        self, stream_id: str, depth: int = 1, *, fresh: bool = False
    ) -> list[Job | JobStream]:
        """Return what a job stream depends on."""
        return await self._flow(
            f"/plan/jobstream/{_seg(stream_id)}/predecessors", depth, None, fresh
        )

    # -- workstations and resources ---------------------------------------------------------

    async def list_workstations(
        self, oql: str | None = None, *, limit: int | None = None, fresh: bool = False
    ) -> Page[Workstation]:
        """Return workstations in the current plan matching ``oql``."""
        return await self._list("/plan/workstation", oql, Workstation, limit=limit, fresh=fresh)

    async def get_workstation(self, workstation_id: str, *, fresh: bool = False) -> Workstation:
        """Return one workstation by id."""
        return await self._get(
            f"/plan/workstation/{_seg(workstation_id)}",
            fresh=fresh,
            parse=Workstation.model_validate,
        )

    async def workstation_health(
        self, oql: str, *, max_objects: int = 50, fresh: bool = False
    ) -> list[HealthStatus]:
        """Ask the engine for the health of the workstations matching ``oql``.

        ``GET /plan/workstation/action/health-status`` is a read despite its path (the guard
        allows exactly this one ``action``); the engine answers one message per workstation,
        failed checks apart.
        """
        return await self._get(
            "/plan/workstation/action/health-status",
            {"oql": oql, "max_object_affected": max(1, max_objects)},
            fresh=fresh,
            parse=_parse_health,
        )

    async def list_resources(
        self,
        oql: str | None = None,
        *,
        limit: int | None = None,
        plan_id: str | None = None,
        fresh: bool = False,
    ) -> Page[Resource]:
        """Return resources in the plan matching ``oql``."""
        return await self._list(
            "/plan/resource", oql, Resource, limit=limit, fresh=fresh, params={"plan_id": plan_id}
        )


def _parse_flow(data: Any) -> list[Job | JobStream]:
    results = data.get("results") if isinstance(data, dict) else None
    return [parse_flow_node(r) for r in results or [] if isinstance(r, dict)]


def _parse_issues(data: Any) -> list[JobIssue]:
    issues = data.get("issues") if isinstance(data, dict) else None
    return [JobIssue.model_validate(i) for i in issues or [] if isinstance(i, dict)]


def _parse_health(data: Any) -> list[HealthStatus]:
    if not isinstance(data, dict):
        return []
    answers = [*(data.get("successfulResourceResponses") or [])]
    answers += [
        {**r, "isError": True} if isinstance(r, dict) else r
        for r in data.get("failedResourceResponses") or []
    ]
    return [HealthStatus.model_validate(r) for r in answers if isinstance(r, dict)]


def _seg(value: str) -> str:
    """Quote an id for a path segment; ids never contain slashes."""
    if not value or "/" in value or value in (".", ".."):
        raise TWSBadRequest(f"invalid id {value!r}", status=None)
    return quote(value, safe=";:-._~")
