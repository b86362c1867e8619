"""What the engine says about its own plan: job issues and workstation health (GET reads).

``GET /plan/job/issues?oql=`` answers ``IssuesResponseV2`` (``{issues: [{id, issueMessage,
issueType}]}``), one issue per problem of a matching job (its ``id``), derived from the plan:
an abend or failure, a job past its deadline or maximum duration, a job held by an agent that
is down, a prompt, a resource or a predecessor. ``GET /plan/workstation/action/health-status
?oql=&max_object_affected=`` answers ``FilterActionResponseV2``: one message per workstation,
the unhealthy ones among the failed responses; by id it answers ``ResourceResponseV2``
(``{id, url}``), as the document says. Both are reads despite the second one's path.
"""

from __future__ import annotations

from typing import Any

from resync_ext.tws.simulator.base import HWAHandler
from resync_ext.tws.simulator.entities import select
from resync_ext.tws.simulator.errors import BadRequest
from resync_ext.tws.simulator.model import Job, Workstation
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.serialize import job_flags

API = "/twsd/api/v2"


def job_issues(plan: Plan, job: Job) -> list[dict[str, str]]:
    """Return the engine's issues for one job (empty when nothing is wrong)."""
    run, name = job.run, f"{job.workstation.name}#{job.stream.name}.{job.name}"
    out: list[tuple[str, str]] = []
    if run.status in ("ABEND", "FAIL"):
        rc = f" with return code {run.return_code}" if run.return_code is not None else ""
        out.append(("JOB_ERROR", f"The job {name} ended in {run.status}{rc}."))
    flags = job_flags(plan, job)
    if flags["deadlineHasPassed"]:
        out.append(("DEADLINE_PASSED", f"The job {name} has not completed by its deadline."))
    elapsed = (run.end or plan.now) - run.start if run.start else None
    if job.max_duration and elapsed and elapsed > job.max_duration:
        out.append(("MAX_DURATION_EXCEEDED", f"The job {name} runs past its maximum duration."))
    sub = run.substatus or ""
    if sub == "READY_WAITING_FOR_AGENT":
        out.append(
            ("AGENT_NOT_AVAILABLE", f"The workstation {job.workstation.name} cannot run {name}.")
        )
    elif sub == "HOLD_WAITING_FOR_PROMPT":
        prompts = ", ".join(p.name for p in job.prompts if p.status != "ANSWERED_YES")
        out.append(("PROMPT_NOT_ANSWERED", f"The job {name} waits for the prompt {prompts}."))
    elif sub == "READY_WAITING_FOR_RESOURCES":
        out.append(("RESOURCE_NOT_AVAILABLE", f"The job {name} waits for resources."))
    return [{"id": job.id, "issueType": t, "issueMessage": m} for t, m in out]


def health_message(ws: Workstation) -> tuple[bool, str]:
    """Return (healthy, message) for one workstation, as the agent's health check reports."""
    if ws.ignore:
        return True, f"AWSBHW110I The workstation {ws.name} is ignored in this plan."
    problems = []
    if not ws.linked and ws.type not in ("POOL", "D-POOL", "REM-ENG"):
        problems.append(f"not linked (no answer from {ws.node})")
    if not ws.running:
        problems.append("the job manager is not running")
    if ws.limit == 0:
        problems.append("its job limit is 0")
    if ws.fence > 0:
        problems.append(f"its fence is {ws.fence}")
    if problems:
        return False, f"AWSBHW111E The workstation {ws.name} is unhealthy: {'; '.join(problems)}."
    return True, (
        f"AWSBHW112I The workstation {ws.name} is healthy: linked, job manager running, "
        f"limit {ws.limit}, version {ws.version}."
    )


class JobIssuesHandler(HWAHandler):
    """GET /plan/job/issues?oql=&plan_filter=."""

    def get(self) -> None:
        """Answer ``{issues: [...]}`` for the matching jobs."""
        plan = self.sim.plan
        with plan.lock:
            jobs = select(
                plan,
                "job",
                self.get_query_argument("oql", None),
                self.get_query_argument("plan_filter", None),
            )
            issues = [i for j in jobs for i in job_issues(plan, j)]
        self.write_json({"issues": issues})


class HealthStatusHandler(HWAHandler):
    """GET /plan/workstation/action/health-status and /plan/workstation/{id}/action/...."""

    def get(self, ws_id: str | None = None) -> None:
        """Answer ``FilterActionResponseV2`` by filter, ``ResourceResponseV2`` by id."""
        plan = self.sim.plan
        url = f"{API}/plan/workstation/{{}}"
        if ws_id is not None:
            ws = plan.workstation_by_id(ws_id)
            self.write_json({"id": ws.id, "url": url.format(ws.id)})
            return
        cap = self.int_arg("max_object_affected", 1, low=1) or 1
        with plan.lock:
            found = select(plan, "workstation", self.get_query_argument("oql", None))
        if len(found) > cap:
            raise BadRequest(
                f"The filter matches {len(found)} objects, more than max_object_affected={cap}."
            )
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for ws in found:
            healthy, message = health_message(ws)
            entry = {"id": ws.id, "url": url.format(ws.id), "message": message}
            (ok if healthy else failed).append({**entry, "isError": not healthy})
        self.write_json({"successfulResourceResponses": ok, "failedResourceResponses": failed})
