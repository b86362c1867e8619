"""Read-only TWS tools for agents: small typed async functions returning bounded, plain data.

Every tool answers a dict; failures come back as ``{"error": {"kind", "message"}}`` and never
raise into the agent loop. Lists are capped and say how many items were left out. Text from
the engine (job logs, commands) is masked with ``mask_secrets`` before it leaves here, and job-log
lines that read like instructions to the assistant are withheld and flagged (injection.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from resync_ext.redact import mask_secrets

from .client import TWSClient
from .errors import TWSError
from .injection import report, scan_lines
from .knowledge import aws_codes
from .knowledge import lookup_known_issue as _lookup
from .models import COMMON_STATUS, Job, JobStream, short_name
from .resolve import like_pattern, oql_literal, resolve_job

log = logging.getLogger("resync_ext.tws.tools")

TOOL_NAMES = (
    "plan_summary",
    "list_jobs",
    "get_job",
    "get_job_log",
    "get_dependencies",
    "list_job_streams",
    "list_workstations",
    "list_resources",
    "lookup_known_issue",
)
MAX_LIST = 50
_COMMON = frozenset(COMMON_STATUS.values()) | {"SUCCESSFUL", "HELD"}
_ALIASES = {
    "FAILED": "ERROR",
    "FAILURE": "ERROR",
    "ABENDED": "ABEND",
    "SUCCESS": "SUCCESSFUL",
    "SUCCEED": "SUCCESSFUL",
    "RUNNING": "RUNNING",
    "HELD": "HELD",
    "CANCELLED": "CANCELED",
}
_ERROR_LINE = re.compile(
    r"error|fail|exception|denied|fatal|not found|no such|cannot|can't|unable|killed|"
    r"refused|timed? ?out|\bORA-\d+|\bAWS[A-Z]{3}\d{3}E|\bSQL\d+N|errno|traceback|space left",
    re.IGNORECASE,
)


def _tool(fn: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Turn exceptions into ``{"error": ...}`` data so the agent loop never sees a raise."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return await fn(*args, **kwargs)
        except TWSError as e:
            return {"error": e.to_dict()}
        except (ValueError, TypeError) as e:
            return {"error": {"kind": "bad_request", "message": str(e)}}
        except Exception as e:  # a tool must answer; the log keeps the traceback
            log.exception("tool %s failed", fn.__name__)
            return {"error": {"kind": "internal", "message": f"{type(e).__name__}: {e}"}}

    return wrapper


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def job_brief(job: Job) -> dict[str, Any]:
    """Return the few facts about a job an agent needs in a list."""
    run = job.latest_run
    times = run.time_info if run else None
    return _drop_none(
        {
            "id": job.id,
            "name": job.name,
            "stream": job.job_stream_name,
            "workstation": short_name(job.workstation),
            "status": job.status,
            "internal_status": job.internal_status,
            "substatus": job.substatus,
            "return_code": job.return_code,
            "start": _iso(times.actual_start_time) if times else None,
            "end": _iso(times.actual_end_time) if times else None,
            "critical": True if job.is_critical else None,
            "late": True if job.is_late else None,
        }
    )


def stream_brief(stream: JobStream) -> dict[str, Any]:
    """Return the few facts about a job stream an agent needs in a list."""
    st = stream.job_stream_stats
    return _drop_none(
        {
            "id": stream.id,
            "name": stream.name,
            "workstation": short_name(stream.workstation),
            "status": stream.status,
            "internal_status": stream.internal_status,
            "sched_time": _iso(stream.sched_time),
            "jobs": st.number_of_job if st else None,
            "succeeded": st.number_of_successfull_job if st else None,
            "abended": st.number_of_abended_job if st else None,
            "limit": stream.limit if stream.limit not in (None, -1) else None,
        }
    )


def _bounded(items: list[Any], limit: int, total: int | None, truncated: bool) -> dict[str, Any]:
    shown = items[: max(1, min(limit, MAX_LIST))]
    known = total if total is not None else len(items)
    left = max(known - len(shown), len(items) - len(shown))
    out: dict[str, Any] = {"returned": len(shown), "total": known}
    if left or truncated:
        out["left_out"] = left
        out["note"] = "more matched than shown; narrow the filters to see them"
    return {"items": shown, **out}


def status_clause(status: str) -> str:
    """Build the OQL term for a status (common such as ERROR, or internal such as ABEND)."""
    values = [_ALIASES.get(s, s) for s in re.split(r"[,\s]+", status.upper()) if s]
    common = [v for v in values if v in _COMMON]
    internal = [v for v in values if v not in common]
    terms = []
    if common:
        terms.append(f"jobruns.commonStatus IN [{', '.join(oql_literal(v) for v in common)}]")
    if internal:
        terms.append(
            f"jobruns.compositeStatus.status IN [{', '.join(oql_literal(v) for v in internal)}]"
        )
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def _status_matches(job: Job, status: str) -> bool:
    wanted = {_ALIASES.get(s, s) for s in re.split(r"[,\s]+", status.upper()) if s}
    return bool(wanted & {job.status or "", job.internal_status or ""})


def _hints(
    status: str | None, substatus: str | None, rc: int | None, text: str | None = None
) -> list[str]:
    """Name the best known-issue rules for these facts (details via lookup_known_issue)."""
    if status in ("SUCC", None) and not substatus and not text:
        return []
    found = _lookup(text, status, substatus, rc, limit=2)
    return [f"{m['rule']}: {m['title']}" for m in found]


class TWSTools:
    """Hold the client and expose the read-only tools as bound async methods."""

    def __init__(self, client: TWSClient) -> None:
        self.client = client

    async def _job(self, job: str) -> tuple[Job | None, dict[str, Any] | None]:
        res = await resolve_job(self.client, job)
        if res.job is not None:
            return res.job, None
        if res.candidates:
            return None, {
                "error": {
                    "kind": "ambiguous",
                    "message": f"{len(res.candidates)} jobs match {job!r}; "
                    "ask which one or pass its id",
                },
                "candidates": [job_brief(j) for j in res.candidates],
            }
        return None, {
            "error": {"kind": "not_found", "message": f"no job like {job!r} in the current plan"}
        }

    @_tool
    async def plan_summary(self) -> dict[str, Any]:
        """Summarise the current plan: job counts by status, failed jobs, late critical jobs,
        why waiting jobs are stuck, workstations that cannot run jobs and exhausted resources.
        Start here for "what went wrong overnight?"."""
        c = self.client
        counts, failed, critical, waiting, stations, resources = await asyncio.gather(
            c.count_jobs("status"),
            c.list_jobs(status_clause("ABEND,FAIL"), limit=100),
            c.list_jobs("jobOptions.critical = true", limit=300),
            c.list_jobs(status_clause("HOLD,READY,FENCE,WAIT,PEND"), limit=1000),
            c.list_workstations(limit=500),
            c.list_resources(limit=500),
        )
        failures = [j for j in failed.items if j.is_failure]
        late = [j for j in critical.items if j.is_late and j.status != "SUCCESSFUL"]
        reasons: dict[str, int] = {}
        for j in waiting.items:
            key = j.substatus or j.internal_status or "UNKNOWN"
            reasons[key] = reasons.get(key, 0) + 1
        ws_problems = [
            {"name": w.name, "problems": w.problems} for w in stations.items if w.problems
        ]
        return _drop_none(
            {
                "total_jobs": counts.count,
                "by_status": counts.grouped_count,
                "failed_jobs": _bounded(
                    [job_brief(j) for j in failures], 15, failed.total, failed.truncated
                ),
                "late_critical_jobs": _bounded([job_brief(j) for j in late], 10, len(late), False),
                "waiting_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
                "workstation_problems": ws_problems[:15],
                "exhausted_resources": [r.name for r in resources.items if r.is_exhausted][:15],
            }
        )

    @_tool
    async def list_jobs(
        self,
        status: str | None = None,
        stream: str | None = None,
        workstation: str | None = None,
        name: str | None = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        """List jobs in the current plan, filtered. status: a common status (ERROR, WAITING,
        READY, RUNNING, SUCCESSFUL, HELD, CANCELED, BLOCKED) or an internal one (ABEND, FAIL,
        HOLD, EXEC, SUCC...), comma-separated for several. stream: job stream name.
        workstation: workstation name. name: job name pattern, * as wildcard. limit: at most 50."""
        terms = []
        if status:
            terms.append(status_clause(status))
        if stream:
            terms.append(f"jobStreamName LIKE {like_pattern(stream)}")
        if workstation:
            terms.append(f"workstation LIKE {like_pattern('@' + short_name(workstation))}")
        if name:
            terms.append(f"name LIKE {like_pattern(name)}")
        page = await self.client.list_jobs(" AND ".join(terms) or None, limit=min(limit, MAX_LIST))
        jobs = [j for j in page.items if not status or _status_matches(j, status)]
        return _bounded([job_brief(j) for j in jobs], limit, page.total, page.truncated)

    @_tool
    async def get_job(self, job: str) -> dict[str, Any]:
        """Get one job by name or id (e.g. "payroll extract", "DAILY_PAY.PAYROLL_EXTRACT"): its
        status, latest run, return code, times, command, user and unresolved dependencies."""
        found, err = await self._job(job)
        if found is None:
            return err or {}
        full = await self.client.get_job(found.id or "")
        d = full.job_definition
        restr = full.time_restrictions
        waiting = [dep.label() for dep in full.dependencies if not dep.is_satisfied]
        return _drop_none(
            {
                **job_brief(full),
                "qualified_name": full.qualified_name,
                "priority": full.priority,
                "runs": len(full.jobruns),
                "run_id": full.latest_run.id if full.latest_run else None,
                "command": mask_secrets(d.command) if d and d.command else None,
                "user": ", ".join(d.user_logins) if d and d.user_logins else None,
                "recovery": d.recovery_option if d else None,
                "deadline": _iso(restr.deadline_time) if restr else None,
                "critical_start": _iso(full.critical_start),
                "unresolved_dependencies": waiting[:10],
                "known_issues": _hints(full.internal_status, full.substatus, full.return_code),
            }
        )

    @_tool
    async def get_job_log(self, job: str, tail_lines: int = 30) -> dict[str, Any]:
        """Read the job log of a job's latest run (by name or id): the error lines, the last
        tail_lines lines (at most 100), the exit status and AWS* codes. Secrets are masked."""
        found, err = await self._job(job)
        if found is None:
            return err or {}
        full = found if found.latest_run else await self.client.get_job(found.id or "")
        run = full.latest_run
        if run is None or not run.id:
            return {
                "job": full.name,
                "status": full.status,
                "error": {"kind": "not_found", "message": "the job has not run: no log yet"},
            }
        text = mask_secrets(await self.client.get_job_log(run.id))
        lines = text.splitlines()
        # Lines addressed to the assistant are withheld: a marker takes their place and they
        # are reported apart, labelled as data (see injection.py).
        suspicious = scan_lines(lines)
        for s in suspicious:
            lines[s.line - 1] = s.marker()
        errors = [s.marker() for s in suspicious] + [
            ln.strip()[:240]
            for ln in lines
            if _ERROR_LINE.search(ln) and not ln.startswith(("=", "[SUSPICIOUS CONTENT"))
        ]
        tail = lines[-max(1, min(tail_lines, 100)) :]
        return _drop_none(
            {
                "job": full.name,
                "stream": full.job_stream_name,
                "run_id": run.id,
                "status": full.status,
                "return_code": run.return_code,
                "lines": len(lines),
                "error_lines": errors[:20],
                "error_lines_left_out": max(0, len(errors) - 20),
                "aws_codes": aws_codes(text),
                "known_issues": _hints(full.internal_status, full.substatus, run.return_code, text),
                "tail": "\n".join(ln[:240] for ln in tail),
                "suspicious_content": report(suspicious) if suspicious else None,
            }
        )

    @_tool
    async def get_dependencies(self, job: str, depth: int = 1) -> dict[str, Any]:
        """Show what a job waits for and what waits for it: predecessors and successors (depth
        1-3) with their status, and the unsatisfied dependencies (jobs, resources, prompts,
        files) that hold it."""
        found, err = await self._job(job)
        if found is None:
            return err or {}
        depth = max(1, min(depth, 3))
        jid = found.id or ""
        full, preds, succs = await asyncio.gather(
            self.client.get_job(jid),
            self.client.job_predecessors(jid, depth),
            self.client.job_successors(jid, depth),
        )

        def node(n: Job | JobStream) -> dict[str, Any]:
            return job_brief(n) if isinstance(n, Job) else {"job_stream": stream_brief(n)}

        held_by = [
            _drop_none(
                {
                    "dependency": d.label(),
                    "type": d.dependency_type,
                    "status": d.dependency_status,
                    "predecessor_status": d.predecessor_status.status
                    if d.predecessor_status
                    else None,
                }
            )
            for d in full.dependencies
            if not d.is_satisfied
        ]
        return {
            "job": job_brief(full),
            "held_by": held_by[:20],
            "predecessors": _bounded([node(n) for n in preds], 20, None, False),
            "successors": _bounded([node(n) for n in succs], 20, None, False),
        }

    @_tool
    async def list_job_streams(
        self, status: str | None = None, name: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        """List job streams in the current plan with job counts. status: common (ERROR,
        RUNNING, WAITING, SUCCESSFUL...) or internal (ABEND, STUCK...). name: pattern, *
        wildcard. limit: at most 50."""
        terms = []
        if status:
            values = [_ALIASES.get(s, s) for s in re.split(r"[,\s]+", status.upper()) if s]
            field = (
                "commonStatus" if all(v in _COMMON for v in values) else "compositeStatus.status"
            )
            terms.append(f"{field} IN [{', '.join(oql_literal(v) for v in values)}]")
        if name:
            terms.append(f"name LIKE {like_pattern(name)}")
        page = await self.client.list_job_streams(
            " AND ".join(terms) or None, limit=min(limit, MAX_LIST)
        )
        return _bounded([stream_brief(s) for s in page.items], limit, page.total, page.truncated)

    @_tool
    async def list_workstations(
        self, problems_only: bool = False, limit: int = 50
    ) -> dict[str, Any]:
        """List workstations with their state, limit and fence, flagging the ones that cannot
        run jobs (unlinked, stopped, limit 0, fence raised). problems_only: only those."""
        page = await self.client.list_workstations(limit=500)
        rows = [
            _drop_none(
                {
                    "name": w.name,
                    "type": w.type,
                    "linked": w.is_linked,
                    "states": w.active_states,
                    "limit": w.limit,
                    "fence": w.fence,
                    "problems": w.problems,
                }
            )
            for w in page.items
            if w.problems or not problems_only
        ]
        out = _bounded(rows, limit, len(rows), page.truncated)
        out["with_problems"] = sum(1 for w in page.items if w.problems)
        return out

    @_tool
    async def list_resources(
        self, name: str | None = None, exhausted_only: bool = False, limit: int = 50
    ) -> dict[str, Any]:
        """List resources with quantity, units available and who holds them. name: pattern, *
        wildcard. exhausted_only: only resources with no unit left."""
        oql = f"name LIKE {like_pattern(name)}" if name else None
        page = await self.client.list_resources(oql, limit=500)
        rows = [
            _drop_none(
                {
                    "name": r.name,
                    "workstation": short_name(r.workstation),
                    "quantity": r.quantity,
                    "available": r.quantity_available,
                    "in_use": r.quantity_in_use,
                    "exhausted": r.is_exhausted,
                    "holders": [h.job or h.job_stream for h in r.holders][:10],
                }
            )
            for r in page.items
            if r.is_exhausted or not exhausted_only
        ]
        return _bounded(rows, limit, len(rows), page.truncated)

    @_tool
    async def lookup_known_issue(
        self,
        text: str | None = None,
        status: str | None = None,
        substatus: str | None = None,
        return_code: int | None = None,
    ) -> dict[str, Any]:
        """Match a log excerpt or error message, a status (ABEND, HOLD...), a sub-status
        (HOLD_WAITING_FOR_PREDECESSOR...) and/or a return code to known HWA problems; returns
        rule ids (R1-R28) with the likely cause and the operator's next steps."""
        matches = await asyncio.to_thread(_lookup, text, status, substatus, return_code)
        if not matches:
            return {"matches": [], "note": "no known issue matches; read the job log"}
        return {"matches": matches}


def build_tools(client: TWSClient) -> dict[str, Callable[..., Awaitable[dict[str, Any]]]]:
    """Return the read-only TWS tools bound to ``client``, keyed by tool name."""
    tools = TWSTools(client)
    return {name: getattr(tools, name) for name in TOOL_NAMES}


__all__ = ["TOOL_NAMES", "TWSTools", "build_tools", "job_brief"]
