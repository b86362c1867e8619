"""Reads that may fail alone: the plan summary ("what went wrong overnight?") and the engine's
health check of workstations.

The reads run together; one that fails (the engine refuses a count, a list times out) leaves
its part of the summary out with a note saying what could not be read and why, and the rest is
answered. Only when every read fails does the summary fail as a whole. A health check that
cannot be read is a note too: the workstations are listed without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from .briefs import bounded, drop_none, iso, job_brief, job_notes, stream_brief, with_notes
from .client import TWSClient
from .errors import TWSError
from .models import Workstation
from .vocabulary import oql_literal, status_clause

_PARTS = (
    ("counts", "job counts"),
    ("failed", "failed jobs"),
    ("critical", "critical jobs"),
    ("waiting", "waiting jobs"),
    ("stations", "workstations"),
    ("resources", "resources"),
    ("streams", "late job streams"),
)


def why(error: BaseException) -> str:
    """Say why a read failed: the engine's message, or the exception."""
    if isinstance(error, TWSError):
        return error.message
    return f"{type(error).__name__}: {error}"


async def plan_summary(client: TWSClient, plan_id: str | None = None) -> dict[str, Any]:
    """Summarise a plan: counts by status, failed and late critical jobs, why jobs wait,
    workstations that cannot run jobs, exhausted resources and late job streams."""
    c = client
    reads: list[Awaitable[Any]] = [
        c.count_jobs("status", plan_id=plan_id),
        c.list_jobs(status_clause("ABEND,FAIL"), limit=100, plan_id=plan_id),
        c.list_jobs("jobOptions.critical = true", limit=300, plan_id=plan_id),
        c.list_jobs(status_clause("HOLD,READY,FENCE,WAIT,PEND"), limit=1000, plan_id=plan_id),
        c.list_workstations(limit=500),
        c.list_resources(limit=500, plan_id=plan_id),
        c.list_job_streams("jsStatusFlags.lateJobStream = true", limit=100, plan_id=plan_id),
    ]
    results = await asyncio.gather(*reads, return_exceptions=True)
    got: dict[str, Any] = {}
    notes: list[str] = []
    failures: list[BaseException] = []
    for (key, label), result in zip(_PARTS, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation and the like are not a part that failed
            failures.append(result)
            notes.append(f"{label} could not be read: {why(result)}")
            continue
        got[key] = result
        notes += getattr(result, "notes", [])
    if not got:
        raise failures[0]

    out: dict[str, Any] = {"as_of": iso(client.engine_time)}  # the engine's clock at this read
    if plan_id:
        out["plan_id"] = plan_id
    if "counts" in got:
        out["total_jobs"] = got["counts"].count
        out["by_status"] = got["counts"].grouped_count
    if "failed" in got:
        failed = got["failed"]
        failures_ = [j for j in failed.items if j.is_failure]
        notes += [n for j in failures_ for n in job_notes(j)]
        out["failed_jobs"] = bounded(
            [job_brief(j) for j in failures_], 15, failed.total, failed.truncated
        )
    if "critical" in got:
        late = [j for j in got["critical"].items if j.is_late and j.status != "SUCCESSFUL"]
        out["late_critical_jobs"] = bounded([job_brief(j) for j in late], 10, len(late), False)
    if "waiting" in got:
        reasons: dict[str, int] = {}
        for j in got["waiting"].items:
            key = j.substatus or j.internal_status or "UNKNOWN"
            reasons[key] = reasons.get(key, 0) + 1
        out["waiting_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    if "stations" in got:
        out["workstation_problems"] = [
            {"name": w.name, "problems": w.problems} for w in got["stations"].items if w.problems
        ][:15]
    if "resources" in got:
        exhausted = [r.name for r in got["resources"].items if r.is_exhausted]
        out["exhausted_resources"] = exhausted[:15]
    if "streams" in got:
        late_streams = [s for s in got["streams"].items if s.is_late]
        out["late_job_streams"] = [stream_brief(s) for s in late_streams][:10]
    return with_notes(drop_none(out), notes)


async def workstation_health(
    client: TWSClient, stations: list[Workstation], most: int = 50
) -> tuple[dict[str, str], list[str]]:
    """Return the engine's health message of each of ``stations`` by id (one read), and notes."""
    names = [w.name for w in stations if w.name][:most]
    if not names:
        return {}, []
    oql = f"name IN [{', '.join(oql_literal(n) for n in names)}]"
    try:
        answers = await client.workstation_health(oql, max_objects=len(names))
    except TWSError as e:
        return {}, [f"workstation health could not be read: {e.message}"]
    return {
        a.id: ("check failed: " if a.failed else "") + (a.message or "")
        for a in answers
        if a.id and a.message
    }, []
