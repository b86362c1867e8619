"""The product's JSON shapes (HWA REST API v2) for the plan's records.

Field names follow ``JobInPlanV2``, ``JobRunInstanceV2``, ``JobStreamInPlanV2``,
``WorkstationInPlanV2``, ``ResourceInPlanV2`` and ``DependencyInPlanV2`` (tws-api.md §2.5).
Only the page a client asked for is serialised.
"""

from __future__ import annotations

from typing import Any

from resync_ext.tws.simulator.dependencies import (
    ROOT_FOLDER_ID,
    dependency_stats,
    job_dependencies,
    stream_dependencies,
)
from resync_ext.tws.simulator.model import Job, Resource, Run, Stream, Workstation
from resync_ext.tws.simulator.plan import Plan, stable_id
from resync_ext.tws.simulator.status import (
    RELEASING,
    TERMINAL,
    composite,
    stream_common_status,
)
from resync_ext.tws.simulator.timeutil import format_duration, format_instant

_RUNNING = ("EXEC", "SUCCP", "ABENP", "BOUND")


def engine_info(plan: Plan, user: str) -> dict[str, Any]:
    """Return ``EngineInfoV2``."""
    eng = plan.engine
    return {
        "displayVersion": eng.version,
        "fullVersion": eng.full_version or f"{eng.version}.00",
        "capabilities": {},
        "adminRoles": {  # RolePrivilegeV2 objects, not user names
            "admin": [{"key": "ADMIN", "label": "Administrator", "description": f"user {user}"}]
        },
        "referenceId": stable_id("engine", plan.name),
        "licenseType": eng.license_type,
        "locale": eng.locale,
        "timezone": eng.timezone,
    }


def _elapsed(plan: Plan, run: Run) -> Any:
    if run.start is None:
        return None
    return (run.end or plan.now) - run.start


def run_json(plan: Plan, job: Job, run: Run) -> dict[str, Any]:
    """Return ``JobRunInstanceV2`` for one run of a job."""
    elapsed = _elapsed(plan, run)
    return {
        "id": run.id,
        "name": job.name,
        "jobId": job.id,
        "jobKey": job_key(job),
        "actualWorkstation": job.workstation.key,
        "jobNumber": run.job_number,
        "compositeStatus": composite(run.status, run.substatus),
        "commonStatus": run.common_status,
        "outputProperties": {},
        "outputConditions": [],
        "returnCode": run.return_code,
        "rerunJob": run.attempt > 1,
        "confirmed": run.confirmed,
        "released": job.deps_released,
        "rerunType": run.rerun_type,
        "timeInfo": {
            "estimatedDuration": format_duration(job.estimated),
            "actualStartTime": format_instant(run.start),
            "elapsedTime": format_duration(elapsed),
            "actualEndTime": format_instant(run.end),
        },
        "submittedTime": format_instant(run.start),
        "lastInRerunChain": run is job.run,
        "minDurationNotReached": False,
        "maxDurationGone": bool(job.max_duration and elapsed and elapsed > job.max_duration),
        "runAttempt": run.attempt,
    }


def job_key(job: Job) -> str:
    """Return the job's key (``/MDM#/DAILY_PAY.PAYROLL_EXTRACT``)."""
    return f"{job.stream.workstation.key}#/{job.stream.name}.{job.name}"


def job_definition(job: Job) -> dict[str, Any]:
    """Return ``JobDefinitionInPlanV2`` (task, logon, recovery option, job and abend prompt)."""
    task_type = "WINDOWS" if job.workstation.os == "WINDOWS" else "UNIX"
    rec = job.recovery
    recovery: dict[str, Any] = {"recoveryOption": rec.option if rec else "STOP"}
    if rec and rec.job:
        ws = rec.workstation or job.workstation.name
        recovery.update(
            recoveryJobId=stable_id("jobdef", ws, rec.job),
            recoveryJobName=rec.job,
            recoveryJobWorkstation=f"/{ws}",
        )
    if rec and rec.prompt:
        recovery.update(
            abendPromptId=stable_id("prompt", job.id, "abend"),
            abendPromptName=f"{job.name}_ABEND",
            abendPromptText=rec.prompt,
        )
    return {
        "id": stable_id("jobdef", job.id),
        "jobDefinitionModelId": stable_id("jobdef", job.workstation.name, job.name),
        "folderId": ROOT_FOLDER_ID,
        "folder": "/",
        "name": job.name,
        "workstationId": job.workstation.id,
        "workstation": job.workstation.key,
        "description": job.description,
        "task": {task_type: {"taskString": job.command, "userName": job.user}},
        "isCommand": False,
        "command": False,
        "estimatedDuration": format_duration(job.estimated),
        "userLogins": [job.user],
        **recovery,
    }


def _confidence(plan: Plan, job: Job) -> str | None:
    """Return how likely a critical job ends by its deadline, as the engine's percentage."""
    run = job.run
    if job.deadline is None or job.estimated is None:
        return None
    if run.status in TERMINAL and run.end is not None:
        return "100%" if run.end <= job.deadline else "0%"
    start = run.start or max(plan.now, job.stream.sched_time)
    slack = (job.deadline - (start + job.estimated)).total_seconds()
    if slack < 0 or plan.now > job.deadline:
        return "0%"
    return "95%" if slack >= 0.2 * job.estimated.total_seconds() else "60%"


def job_flags(plan: Plan, job: Job) -> dict[str, bool]:
    """Return ``jobStatusFlags`` (late, deadline passed, restarted)."""
    run = job.run
    late = False
    if job.deadline is not None:
        finished = run.status in TERMINAL and run.end is not None
        late = (run.end > job.deadline) if finished and run.end else plan.now > job.deadline
    return {
        "jobStreamCancelled": plan.stream_status(job.stream) == "CANCL",
        "promotedToUrgentQueue": False,
        "jobLate": late,
        "userRerunAgain": False,
        "restarted": len(job.runs) > 1,
        "untilGone": False,
        "buckujob": False,
        "needMessage": False,
        "deadlineHasPassed": late and run.status not in RELEASING,
        "altJobIssue": False,
    }


def job_json(plan: Plan, job: Job, with_dependencies: bool = False) -> dict[str, Any]:
    """Return ``JobInPlanV2``; ``dependencies`` only when fetched by id, as the product does."""
    stream, ws, run = job.stream, job.workstation, job.run
    deps = job_dependencies(plan, job)
    critical_start = job.deadline - job.estimated if job.deadline and job.estimated else None
    confidence = _confidence(plan, job) if job.critical else None
    out: dict[str, Any] = {
        "flowNodeType": "JOB",
        "engineId": stable_id("engine", plan.name),
        "id": job.id,
        "persistentId": job.id,
        "planId": plan.plan_id,
        "folderId": ROOT_FOLDER_ID,
        "folder": "/",
        "name": job.name,
        "workstationId": ws.id,
        "workstation": ws.key,
        "cpuFolderId": ROOT_FOLDER_ID,
        "jobStreamId": stream.id,
        "jobStreamName": stream.name,
        "jobStreamWorkstationId": stream.workstation.id,
        "jobStreamWorkstation": stream.workstation.key,
        "position": job.position,
        "key": job_key(job),
        "jobDefinitionFlags": {"monitored": False, "aliased": False, "interactive": False},
        "jobStatusFlags": job_flags(plan, job),
        "jobOptions": {
            "noOperation": False,
            "critical": job.critical,
            "requiresConfirmation": job.requires_confirmation,
            "every": False,
        },
        "lastRunCompositeStatus": composite(run.status, run.substatus),
        "lastRunCommonStatus": run.common_status,
        "jobDefinitionRefId": stable_id("jobdef", job.id),
        "jobDefinition": job_definition(job),
        "priority": job.priority,
        "origPriority": job.orig_priority,
        "jobruns": [run_json(plan, job, r) for r in job.runs],
        "schedTime": format_instant(stream.sched_time),
        "timeZone": plan.engine.timezone,
        "timeRestrictions": {
            "startTime": format_instant(job.at),
            "deadlineTime": format_instant(job.deadline),
            "lateAction": job.late_action,
            "maxDuration": format_duration(job.max_duration),
            "timeDependent": job.at is not None,
            "startTimeSatisfied": job.at is None or job.at <= plan.now,
            "deadlineSatisfied": not (job.deadline and job_flags(plan, job)["jobLate"]),
        },
        "dependenciesStats": dependency_stats(deps),
        "endTime": format_instant(run.end),
        "criticalStart": format_instant(critical_start),
        "confidenceInterval": confidence,
        "archived": False,
    }
    if with_dependencies:
        out["dependencies"] = deps
    return out


def stream_json(plan: Plan, stream: Stream, with_detail: bool = False) -> dict[str, Any]:
    """Return ``JobStreamInPlanV2``; ``jobs`` and ``dependencies`` only when fetched by id."""
    status = plan.stream_status(stream)
    jobs = stream.jobs
    counts = [j.status for j in jobs]
    starts = [j.run.start for j in jobs if j.run.start]
    ends = [j.run.end for j in jobs if j.run.end]
    done = all(s in TERMINAL for s in counts)
    end = max(ends) if done and ends else None
    start = min(starts) if starts else None
    deps = stream_dependencies(plan, stream)
    out: dict[str, Any] = {
        "flowNodeType": "JOBSTREAM",
        "engineId": stable_id("engine", plan.name),
        "id": stream.id,
        "persistentId": stream.id,
        "planId": plan.plan_id,
        "folderId": ROOT_FOLDER_ID,
        "folder": "/",
        "name": stream.name,
        "originalJobStreamName": stream.name,
        "aliasJobStreamName": None,
        "workstationId": stream.workstation.id,
        "workstation": stream.workstation.key,
        "jobStreamModelId": stable_id("jobstreamdef", stream.name),
        "key": f"{stream.workstation.key}#/{stream.name}",
        "schedTime": format_instant(stream.sched_time),
        "timeZone": plan.engine.timezone,
        "jsDefinitionFlags": {"aliased": False, "carriedForward": False, "isService": False},
        "jsStatusFlags": {
            "released": False,
            "lateJobStream": any(job_flags(plan, j)["jobLate"] for j in jobs),
            "pendingPredecessor": False,
            "hasEveryJobs": False,
            "inOrder": False,
            "dontTouch": False,
        },
        "jsOptions": {"monitored": False, "carryForward": False},
        "compositeStatus": {
            "status": status,
            "substatus": None,
            "cancelPending": status == "CANCLP",
            "canceled": status == "CANCL",
            "started": start is not None,
            "error": status in ("ABEND", "FAIL"),
            "dontRun": status == "SUPPR",
        },
        "commonStatus": stream_common_status(status),
        "priority": stream.priority,
        "origPriority": stream.priority,
        "timeInfo": {
            "actualStartTime": format_instant(start),
            "actualEndTime": format_instant(end),
            "elapsedTime": format_duration((end or plan.now) - start) if start else None,
        },
        "scheduledDate": format_instant(stream.sched_time),
        "jobStreamStats": {
            "numberOfJob": len(jobs),
            "numberOfCurrentNodes": len(jobs),
            "numberOfSuccessfullJob": counts.count("SUCC"),
            "numberOfDeltaJob": 0,
            "numberOfDeltaSuccJob": 0,
            "numberOfNotRunningJob": sum(
                s in ("HOLD", "READY", "FENCE", "WAIT", "INTRO", "ADD", "SCHED", "PEND")
                for s in counts
            ),
            "numberOfExecutingJob": sum(s in _RUNNING for s in counts),
            "numberOfAbendedJob": counts.count("ABEND"),
            "numberOfFailedJob": counts.count("FAIL"),
            "numberOfUndecidedJob": sum(s in ("ERROR", "EXTRN", "DONE") for s in counts),
        },
        "dependenciesStats": dependency_stats(deps),
        "timeRestrictions": {
            "startTime": format_instant(stream.sched_time),
            "timeDependent": True,
            "startTimeSatisfied": stream.sched_time <= plan.now,
        },
        "limit": stream.limit,
        "internalIdentifier": stream.jsid,
        "archived": False,
    }
    if with_detail:
        out["dependencies"] = deps
        out["jobs"] = [job_json(plan, j) for j in jobs]
    return out


def workstation_json(plan: Plan, ws: Workstation) -> dict[str, Any]:
    """Return ``WorkstationInPlanV2`` with ``activeStates`` derived from the flags."""
    return {
        "engineId": stable_id("engine", plan.name),
        "id": ws.id,
        "persistentId": ws.id,
        "planId": plan.plan_id,
        "folderId": ROOT_FOLDER_ID,
        "folder": "/",
        "name": ws.name,
        "key": ws.key,
        "description": ws.description,
        "runNumber": int(plan.now.strftime("%j")),
        "activeStates": ws.active_states(),
        "activeFlags": ["AUTO_LINK", "FULL_STATUS"] if not ws.master else ["FULL_STATUS"],
        "type": ws.type,
        "hostType": "MASTER" if ws.master else "WORKSTATION",
        "os": ws.os,
        "timeZone": plan.engine.timezone,
        "nodeName": ws.node,
        "tcpPort": 31111 if ws.master else 31114,
        "domainName": ws.domain,
        "limit": ws.limit,
        "fence": ws.fence,
        "version": ws.version,
        "ignore": ws.ignore,
        "archived": False,
    }


def resource_json(plan: Plan, res: Resource) -> dict[str, Any]:
    """Return ``ResourceInPlanV2`` with usage and holders."""
    in_use = plan.resource_in_use(res)
    holders = [
        {
            "jobStreamId": j.stream.id,
            "jobStream": j.stream.name,
            "jobId": j.id,
            "job": j.name,
            "jobKey": job_key(j),
            "quantity": q,
            "shared": False,
        }
        for j in plan.by_need.get(res.name, ())
        if j.status in _RUNNING
        for r, q in j.needs
        if r is res
    ]
    available = res.quantity - in_use
    return {
        "engineId": stable_id("engine", plan.name),
        "id": res.id,
        "persistentId": res.id,
        "folderId": ROOT_FOLDER_ID,
        "folder": "/",
        "name": res.name,
        "key": f"{res.workstation.key}#/{res.name}",
        "workstationId": res.workstation.id,
        "workstation": res.workstation.key,
        "quantity": res.quantity,
        "quantityAvailable": available,
        "quantityInUse": in_use,
        "description": res.description,
        "holders": holders,
        "status": "AVAILABLE" if available > 0 else "NOT_AVAILABLE",
        "archived": False,
    }
