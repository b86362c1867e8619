"""Read-only TWS tools for agents: small typed async functions returning bounded, plain data.

Every tool answers a dict; failures come back as ``{"error": {"kind", "message"}}`` and never
raise into the agent loop. Lists are capped and say how many items were left out; ``notes`` says
what could not be read (a part of the plan summary, a value a newer engine sends). Text from
the engine (job logs, commands) is masked with ``mask_secrets`` before it leaves here, and job-log
lines that read like instructions to the assistant are withheld and flagged (injection.py).
How objects are shown lives in briefs.py, the status vocabulary in vocabulary.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from resync_ext.redact import mask_secrets

from .briefs import (
    MAX_LIST,
    bounded,
    drop_none,
    duration_facts,
    hints,
    iso,
    job_brief,
    job_notes,
    run_brief,
    status_matches,
    stream_brief,
    tool,
    with_notes,
)
from .client import TWSClient
from .errors import TWSNotFound
from .knowledge import lookup_known_issue as _lookup
from .log_facts import log_facts
from .models import Job, JobIssue, JobStream, short_name
from .resolve import like_pattern, oql_literal, resolve_job
from .summary import plan_summary as _plan_summary
from .summary import why, workstation_health
from .vocabulary import status_clause, stream_status_clause

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
_tool = tool  # the name the tools were decorated with before the split


class TWSTools:
    """Hold the client and expose the read-only tools as bound async methods."""

    def __init__(self, client: TWSClient) -> None:
        self.client = client

    async def _job(
        self, job: str, plan_id: str | None = None
    ) -> tuple[Job | None, dict[str, Any] | None]:
        res = await resolve_job(self.client, job, plan_id=plan_id)
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
        where = f"plan {plan_id}" if plan_id else "the current plan"
        return None, {"error": {"kind": "not_found", "message": f"no job like {job!r} in {where}"}}

    @tool
    async def plan_summary(self, plan_id: str | None = None) -> dict[str, Any]:
        """Summarise the current plan: job counts by status, failed jobs, late critical jobs,
        why waiting jobs are stuck, workstations that cannot run jobs, exhausted resources and
        late job streams. Start here for "what went wrong overnight?". plan_id: a previous
        plan's id, to ask about it after the plan turned over."""
        return await _plan_summary(self.client, plan_id)

    @tool
    async def list_jobs(
        self,
        status: str | None = None,
        stream: str | None = None,
        workstation: str | None = None,
        name: str | None = None,
        limit: int = 20,
        plan_id: str | None = None,
    ) -> dict[str, Any]:
        """List jobs in the current plan, filtered. status: a common status (ERROR, WAITING,
        READY, RUNNING, SUCCESSFUL, HELD, CANCELED, BLOCKED) or an internal one (ABEND, FAIL,
        HOLD, EXEC, SUCC...), comma-separated for several. stream: job stream name.
        workstation: workstation name. name: job name pattern, * as wildcard. limit: at most 50.
        plan_id: a previous plan's id instead of the current plan."""
        terms = []
        if status:
            terms.append(status_clause(status))
        if stream:
            terms.append(f"jobStreamName LIKE {like_pattern(stream)}")
        if workstation:
            terms.append(f"workstation LIKE {like_pattern('@' + short_name(workstation))}")
        if name:
            terms.append(f"name LIKE {like_pattern(name)}")
        page = await self.client.list_jobs(
            " AND ".join(terms) or None, limit=min(limit, MAX_LIST), plan_id=plan_id
        )
        jobs = [j for j in page.items if not status or status_matches(j, status)]
        out = bounded([job_brief(j) for j in jobs], limit, page.total, page.truncated)
        return with_notes(out, [*page.notes, *(n for j in jobs for n in job_notes(j))])

    @tool
    async def get_job(self, job: str, plan_id: str | None = None) -> dict[str, Any]:
        """Get one job by name or id (e.g. "payroll extract", "DAILY_PAY.PAYROLL_EXTRACT"): its
        status, latest run and rerun history, return code, times and estimated vs actual
        duration, command, user, recovery, abend prompt, unresolved dependencies and the issues
        the engine itself reports. plan_id: a previous plan's id instead of the current plan."""
        found, err = await self._job(job, plan_id)
        if found is None:
            return err or {}
        jid = found.id or ""
        reads: list[Awaitable[Any]] = [self.client.get_job(jid, plan_id=plan_id)]
        if not plan_id:  # the engine reports issues on the current plan only
            reads.append(self._issues(jid))
        full, *rest = await asyncio.gather(*reads, return_exceptions=True)
        issues: list[JobIssue] | BaseException | None = rest[0] if rest else None
        if isinstance(full, BaseException):
            raise full
        notes = job_notes(full)
        if isinstance(issues, BaseException):
            notes.append(f"the engine's job issues could not be read: {why(issues)}")
            issues = None
        d = full.job_definition
        restr = full.time_restrictions
        waiting = [dep.label() for dep in full.dependencies if not dep.is_satisfied]
        out = drop_none(
            {
                **job_brief(full),
                "qualified_name": full.qualified_name,
                "plan_id": plan_id,
                "as_of": iso(self.client.engine_time),  # the engine's clock, for "how long ago"
                "priority": full.priority,
                "runs": len(full.jobruns),
                "run_id": full.latest_run.id if full.latest_run else None,
                "rerun_history": [run_brief(r) for r in full.jobruns[-10:]]
                if len(full.jobruns) > 1
                else None,
                **duration_facts(full),
                "command": mask_secrets(d.command) if d and d.command else None,
                "user": ", ".join(d.user_logins) if d and d.user_logins else None,
                "recovery": d.recovery_option if d else None,
                "recovery_job": d.recovery_job if d else None,
                "abend_prompt": mask_secrets(d.abend_prompt_text)
                if d and d.abend_prompt_text
                else None,
                "deadline": iso(restr.deadline_time) if restr else None,
                "late_action": restr.late_action if restr else None,
                "critical_start": iso(full.critical_start),
                "unresolved_dependencies": waiting[:10],
                "engine_issues": [
                    drop_none({"type": i.issue_type, "message": i.issue_message})
                    for i in (issues or [])[:10]
                ],
                "known_issues": hints(full.internal_status, full.substatus, full.return_code),
            }
        )
        return with_notes(out, notes)

    async def _issues(self, job_id: str) -> list[Any]:
        try:
            return await self.client.job_issues(f"id = {oql_literal(job_id)}")
        except TWSNotFound:  # the document's 404 here: no job (so no issue) matched
            return []

    @tool
    async def get_job_log(
        self, job: str, tail_lines: int = 30, plan_id: str | None = None
    ) -> dict[str, Any]:
        """Read the job log of a job's latest run (by name or id): the error lines, the last
        tail_lines lines (at most 100), the exit status and AWS* codes. Secrets are masked.
        A very long log is read within a bound: its head, error lines and tail."""
        found, err = await self._job(job, plan_id)
        if found is None:
            return err or {}
        full = (
            found
            if found.latest_run
            else await self.client.get_job(found.id or "", plan_id=plan_id)
        )
        run = full.latest_run
        if run is None or not run.id:
            return {
                "job": full.name,
                "status": full.status,
                "error": {"kind": "not_found", "message": "the job has not run: no log yet"},
            }
        log = await self.client.read_job_log(run.id, plan_id=plan_id)
        # Masking, screening and the known-issue lookup are CPU work over up to
        # tws_max_log_kb of untrusted text: a worker thread, so the event loop keeps serving.
        facts = await asyncio.to_thread(
            log_facts, log.text, tail_lines, full.internal_status, full.substatus, run.return_code
        )
        out = drop_none(
            {
                "job": full.name,
                "stream": full.job_stream_name,
                "run_id": run.id,
                "status": full.status,
                "return_code": run.return_code,
                "lines": log.total_lines,
                **facts,
                "log_bytes": log.total_bytes if log.truncated else None,
                "log_lines_left_out": log.omitted_lines or None,
            }
        )
        notes = []
        if log.truncated:
            notes.append(
                f"the log is {log.total_bytes} bytes: only its head, error lines and last "
                f"lines were read ({log.omitted_lines} lines left out)"
            )
        return with_notes(out, notes)

    @tool
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
            drop_none(
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
        return with_notes(
            {
                "job": job_brief(full),
                "held_by": held_by[:20],
                "predecessors": bounded([node(n) for n in preds], 20, None, False),
                "successors": bounded([node(n) for n in succs], 20, None, False),
            },
            job_notes(full),
        )

    @tool
    async def list_job_streams(
        self, status: str | None = None, name: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        """List job streams in the current plan with job counts and the engine's late flag.
        status: common (ERROR, RUNNING, WAITING, SUCCESSFUL...) or internal (ABEND, STUCK...).
        name: pattern, * wildcard. limit: at most 50."""
        terms = []
        if status:
            terms.append(stream_status_clause(status))
        if name:
            terms.append(f"name LIKE {like_pattern(name)}")
        page = await self.client.list_job_streams(
            " AND ".join(terms) or None, limit=min(limit, MAX_LIST)
        )
        out = bounded([stream_brief(s) for s in page.items], limit, page.total, page.truncated)
        return with_notes(out, [*page.notes, *(n for s in page.items for n in job_notes(s))])

    @tool
    async def list_workstations(
        self, problems_only: bool = False, limit: int = 50
    ) -> dict[str, Any]:
        """List workstations with their state, limit and fence, flagging the ones that cannot
        run jobs (unlinked, stopped, limit 0, fence raised) with the engine's health check of
        each of those. problems_only: only those."""
        page = await self.client.list_workstations(limit=500)
        troubled = [w for w in page.items if w.problems]
        health, notes = await workstation_health(self.client, troubled)
        rows = [
            drop_none(
                {
                    "name": w.name,
                    "type": w.type,
                    "linked": w.is_linked,
                    "states": w.active_states,
                    "limit": w.limit,
                    "fence": w.fence,
                    "problems": w.problems,
                    "health": health.get(w.id or ""),
                }
            )
            for w in page.items
            if w.problems or not problems_only
        ]
        out = bounded(rows, limit, len(rows), page.truncated)
        out["with_problems"] = len(troubled)
        return with_notes(out, [*page.notes, *notes])

    @tool
    async def list_resources(
        self, name: str | None = None, exhausted_only: bool = False, limit: int = 50
    ) -> dict[str, Any]:
        """List resources with quantity, units available and who holds them. name: pattern, *
        wildcard. exhausted_only: only resources with no unit left."""
        oql = f"name LIKE {like_pattern(name)}" if name else None
        page = await self.client.list_resources(oql, limit=500)
        rows = [
            drop_none(
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
        return with_notes(bounded(rows, limit, len(rows), page.truncated), page.notes)

    @tool
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


__all__ = [
    "MAX_LIST",
    "TOOL_NAMES",
    "TWSTools",
    "build_tools",
    "job_brief",
    "status_clause",
    "stream_brief",
]
