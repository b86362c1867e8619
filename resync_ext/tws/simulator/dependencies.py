"""Dependencies in plan (``DependencyInPlanV2``) with their status derived from the plan.

A follows dependency is satisfied when its predecessor job ended SUCC (or was cancelled or
suppressed, which releases successors) or its predecessor stream completed; a resource
dependency when enough units are free (or the job already holds them); a prompt when answered
yes; a file when it exists. Released dependencies count as satisfied.
"""

from __future__ import annotations

from typing import Any

from resync_ext.tws.simulator.build import stable_id
from resync_ext.tws.simulator.model import Job, Stream
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.status import composite
from resync_ext.tws.simulator.timeutil import format_instant

ROOT_FOLDER_ID = stable_id("folder", "/")
_RUNNING = ("EXEC", "SUCCP", "ABENP", "BOUND")


def job_dependencies(plan: Plan, job: Job) -> list[dict[str, Any]]:
    """Return the job's ``dependencies`` with their status derived from the predecessors."""
    deps: list[dict[str, Any]] = []

    def add(kind: str, key: str, satisfied: bool, dep_id: str | None = None, **fields: Any) -> None:
        satisfied = satisfied or job.deps_released
        deps.append(
            {
                "dependencyType": kind,
                "id": dep_id or stable_id("dep", job.id, key),
                "dependencyStatus": "SATISFIED" if satisfied else "UNSATISFIED",
                "satisfied": satisfied,
                "depSequence": len(deps) + 1,
                "mandatory": True,
                **fields,
            }
        )

    for pred in job.follows_jobs:
        same = pred.stream is job.stream
        # External job dependencies name the job's workstation and stream id and carry the
        # pending/zombie flags; internal ones (same stream) do not (the document's two shapes).
        external: dict[str, Any] = (
            {}
            if same
            else {
                "jobWorkstationName": pred.workstation.key,
                "jobStreamId": pred.stream.id,
                "pending": False,
                "zombie": False,
            }
        )
        add(
            "INTERNAL" if same else "EXTERNAL_JOB",
            pred.id,
            plan.job_dep_satisfied(pred),
            conditional=False,
            critical=False,
            statusConditions=[],
            outputConditions=[],
            jobId=pred.id,
            jobName=pred.name,
            jobStreamName=pred.stream.name,
            jobStreamWorkstation=pred.stream.workstation.key,
            jobStreamSchedTime=format_instant(pred.stream.sched_time),
            jobStreamFolder="/",
            jobSuccId=job.id,
            predecessorStatus=composite(pred.status, pred.substatus),
            **external,
        )
    for pred_stream in job.follows_streams:
        status = plan.stream_status(pred_stream)
        add(
            "EXTERNAL_JOBSTREAM",
            pred_stream.id,
            plan.stream_dep_satisfied(pred_stream),
            conditional=False,
            critical=False,
            statusConditions=[],
            outputConditions=[],
            jobStreamId=pred_stream.id,
            jobStreamName=pred_stream.name,
            jobStreamWorkstation=pred_stream.workstation.key,
            jobStreamSchedTime=format_instant(pred_stream.sched_time),
            jobStreamFolder="/",
            pending=False,
            zombie=False,
            predecessorStatus=composite(status, None),
        )
    for res, quantity in job.needs:
        available = res.quantity - plan.resource_in_use(res)
        held = quantity if job.status in _RUNNING else 0
        add(
            "RESOURCE",
            res.id,
            held > 0 or available >= quantity,
            folderId=ROOT_FOLDER_ID,
            folder="/",
            name=res.name,
            workstation=res.workstation.key,
            workstationId=res.workstation.id,
            quantity=quantity,
            quantityHeld=held,
            available=available,
            totalQuantity=res.quantity,
        )
    for prompt in job.prompts:
        add(
            "PROMPT",
            prompt.id,
            prompt.status == "ANSWERED_YES",
            dep_id=prompt.id,  # a prompt dependency's id is the prompt's (the document says)
            folderId=ROOT_FOLDER_ID,
            folder="/",
            promptName=prompt.name,
            workstation=prompt.workstation.key,
            workstationId=prompt.workstation.id,
            text=prompt.text,
            promptStatus=prompt.status,
            promptType="Predefined Prompt",
            number=prompt.number,
        )
    for dep in job.opens:
        add(
            "FILE",
            dep.id,
            dep.exists,
            timeLastChecked=format_instant(plan.now),
            file={
                "id": dep.id,
                "name": dep.path,
                "workstation": job.workstation.key,
                "workstationId": job.workstation.id,
                "planId": plan.plan_id,
                "qualifier": "",
            },
        )
    return deps


def dependency_stats(deps: list[dict[str, Any]]) -> dict[str, int]:
    """Return ``dependenciesStats`` counted from a dependency list."""
    kinds = [d["dependencyType"] for d in deps]
    unresolved = [d for d in deps if not d["satisfied"]]
    return {
        "numberOfDependencies": len(deps),
        "numberOfJobDependencies": sum(k in ("INTERNAL", "EXTERNAL_JOB") for k in kinds),
        "numberOfJobStreamDependencies": kinds.count("EXTERNAL_JOBSTREAM"),
        "numberOfInternetworkDependencies": kinds.count("INTERNETWORK"),
        "numberOfPromptDependencies": kinds.count("PROMPT"),
        "numberOfResourceDependencies": kinds.count("RESOURCE"),
        "numberOfFileDependencies": kinds.count("FILE"),
        "numberOfUnresolvedDependencies": len(unresolved),
        "numberOfNonResourceUnresolvedDependencies": sum(
            d["dependencyType"] != "RESOURCE" for d in unresolved
        ),
    }


def stream_dependencies(plan: Plan, stream: Stream) -> list[dict[str, Any]]:
    """Return a job stream's ``dependencies`` (stream-level follows)."""
    deps: list[dict[str, Any]] = []
    for pred in stream.follows_jobs:
        ok = plan.job_dep_satisfied(pred)
        deps.append(
            {
                "dependencyType": "EXTERNAL_JOB",
                "id": stable_id("dep", stream.id, pred.id),
                "dependencyStatus": "SATISFIED" if ok else "UNSATISFIED",
                "satisfied": ok,
                "depSequence": len(deps) + 1,
                "mandatory": True,
                "conditional": False,
                "jobId": pred.id,
                "jobName": pred.name,
                "jobStreamId": pred.stream.id,
                "jobStreamName": pred.stream.name,
                "jobStreamWorkstation": pred.stream.workstation.key,
                "jobStreamSchedTime": format_instant(pred.stream.sched_time),
                "predecessorStatus": composite(pred.status, pred.substatus),
            }
        )
    for pred_stream in stream.follows_streams:
        ok = plan.stream_dep_satisfied(pred_stream)
        deps.append(
            {
                "dependencyType": "EXTERNAL_JOBSTREAM",
                "id": stable_id("dep", stream.id, pred_stream.id),
                "dependencyStatus": "SATISFIED" if ok else "UNSATISFIED",
                "satisfied": ok,
                "depSequence": len(deps) + 1,
                "mandatory": True,
                "conditional": False,
                "jobStreamId": pred_stream.id,
                "jobStreamName": pred_stream.name,
                "jobStreamWorkstation": pred_stream.workstation.key,
                "jobStreamSchedTime": format_instant(pred_stream.sched_time),
                "predecessorStatus": composite(plan.stream_status(pred_stream), None),
            }
        )
    return deps
