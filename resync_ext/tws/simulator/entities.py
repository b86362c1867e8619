"""What OQL can ask of each kind of plan object, and the query entry point used by handlers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from resync_ext.tws.simulator import oql
from resync_ext.tws.simulator.errors import BadRequest
from resync_ext.tws.simulator.model import Job, Stream
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.query import Entity, compile_filter, index_keys, sort_records
from resync_ext.tws.simulator.serialize import (
    job_flags,
    job_json,
    resource_json,
    stream_json,
    workstation_json,
)

_JOB_STATUS = "jobruns.compositeStatus.status"
_JOB_COMMON = "jobruns.commonStatus"


def _job_entity(plan: Plan) -> Entity:
    fields: dict[str, Callable[[Job], Any]] = {
        "id": lambda j: j.id,
        "name": lambda j: j.name,
        "folder": lambda j: "/",
        "workstation": lambda j: j.workstation.name,
        "workstationId": lambda j: j.workstation.id,
        "jobStreamName": lambda j: j.stream.name,
        "jobStreamId": lambda j: j.stream.id,
        "jobStreamWorkstation": lambda j: j.stream.workstation.name,
        "priority": lambda j: j.priority,
        "schedTime": lambda j: j.stream.sched_time,
        _JOB_STATUS: lambda j: j.status,
        "jobruns.compositeStatus.substatus": lambda j: j.substatus,
        _JOB_COMMON: lambda j: j.common_status,
        "jobruns.returnCode": lambda j: j.run.return_code,
        "jobruns.rerunType": lambda j: j.run.rerun_type,
        "jobruns.timeInfo.actualStartTime": lambda j: j.run.start,
        "jobruns.timeInfo.actualEndTime": lambda j: j.run.end,
        "jobruns.timeInfo.estimatedDuration": lambda j: j.estimated,
        "jobOptions.critical": lambda j: j.critical,
        "jobOptions.requiresConfirmation": lambda j: j.requires_confirmation,
        "jobStatusFlags.jobLate": lambda j: job_flags(plan, j)["jobLate"],
        "jobStatusFlags.deadlineHasPassed": lambda j: job_flags(plan, j)["deadlineHasPassed"],
        "dependencies.jobStreamId": lambda j: (
            [p.stream.id for p in j.follows_jobs] + [s.id for s in j.follows_streams]
        ),
        "dependencies.jobStreamName": lambda j: (
            [p.stream.name for p in j.follows_jobs] + [s.name for s in j.follows_streams]
        ),
        "dependencies.jobId": lambda j: [p.id for p in j.follows_jobs],
        "dependencies.jobName": lambda j: [p.name for p in j.follows_jobs],
        "jobDefinition.userLogins": lambda j: j.user,
    }
    aliases = {
        "status": _JOB_STATUS,
        "internalstatus": _JOB_STATUS,
        "compositestatus.status": _JOB_STATUS,
        "lastruncompositestatus.status": _JOB_STATUS,
        "jobrunscompositestatus.status": _JOB_STATUS,
        "substatus": "jobruns.compositeStatus.substatus",
        "lastruncompositestatus.substatus": "jobruns.compositeStatus.substatus",
        "commonstatus": _JOB_COMMON,
        "lastruncommonstatus": _JOB_COMMON,
        "jobrunscommonstatus": _JOB_COMMON,
        "key.name": "name",
        "jobname": "name",
        "jobstream": "jobStreamName",
        "workstationname": "workstation",
        "returncode": "jobruns.returnCode",
        "critical": "jobOptions.critical",
        "jobdefinition.userlogin": "jobDefinition.userLogins",
    }
    sample = plan.jobs[0] if plan.jobs else None
    return Entity(
        fields=fields,
        aliases=aliases,
        kinds={
            _JOB_STATUS: "internal",
            _JOB_COMMON: "common",
            "workstation": "ws",
            "jobStreamWorkstation": "ws",
        },
        indexed={
            _JOB_STATUS: "status",
            _JOB_COMMON: "common",
            "workstation": "workstation",
            "jobStreamName": "stream",
            "name": "name",
            "id": "id",
        },
        serialize=lambda j: job_json(plan, j, with_dependencies=True),
        sample=lambda: job_json(plan, sample, with_dependencies=True) if sample else None,
    )


def _stream_entity(plan: Plan) -> Entity:
    fields: dict[str, Callable[[Stream], Any]] = {
        "id": lambda s: s.id,
        "name": lambda s: s.name,
        "folder": lambda s: "/",
        "workstation": lambda s: s.workstation.name,
        "schedTime": lambda s: s.sched_time,
        "priority": lambda s: s.priority,
        "limit": lambda s: s.limit,
        "compositeStatus.status": lambda s: plan.stream_status(s),
        "jsStatusFlags.lateJobStream": lambda s: any(job_flags(plan, j)["jobLate"] for j in s.jobs),
        "commonStatus": lambda s: _stream_common(plan, s),
        "dependencies.jobStreamId": lambda s: (
            [p.stream.id for p in s.follows_jobs] + [p.id for p in s.follows_streams]
        ),
        "dependencies.jobStreamName": lambda s: (
            [p.stream.name for p in s.follows_jobs] + [p.name for p in s.follows_streams]
        ),
    }
    sample = plan.streams[0] if plan.streams else None
    return Entity(
        fields=fields,
        aliases={
            "status": "compositeStatus.status",
            "internalstatus": "compositeStatus.status",
            "key.name": "name",
            "jobstreamname": "name",
            "workstationname": "workstation",
        },
        kinds={"compositeStatus.status": "internal", "commonStatus": "common", "workstation": "ws"},
        serialize=lambda s: stream_json(plan, s),
        sample=lambda: stream_json(plan, sample) if sample else None,
    )


def _stream_common(plan: Plan, stream: Stream) -> str:
    from resync_ext.tws.simulator.status import stream_common_status

    return stream_common_status(plan.stream_status(stream))


def _serialized_entity(
    plan: Plan, records: list[Any], to_json: Callable[..., dict[str, Any]], kinds: dict[str, str]
) -> Entity:
    cache: dict[int, dict[str, Any]] = {}

    def ser(rec: Any) -> dict[str, Any]:
        if id(rec) not in cache:
            cache[id(rec)] = to_json(plan, rec)
        return cache[id(rec)]

    def getter(path: str) -> Callable[[Any], Any]:
        from resync_ext.tws.simulator.query import _walk

        parts = path.split(".")
        return lambda rec: _walk(ser(rec), parts)

    sample = ser(records[0]) if records else {}
    fields = {k: getter(k) for k in sample}
    if "activeStates" in fields:
        fields["activeStates"] = lambda rec: (
            ser(rec)["activeStates"]
            + ([] if "LINKED" in ser(rec)["activeStates"] else ["UNLINKED"])
        )
        fields["jobmanUp"] = lambda rec: "JOBMAN_UP" in ser(rec)["activeStates"]
    return Entity(
        fields=fields,
        aliases={"key.name": "name", "workstationname": "name", "resourcename": "name"},
        kinds=kinds,
        serialize=ser,
        sample=lambda: sample or None,
    )


def _plan_filter(text: str, kind: str) -> Callable[[Any], bool]:
    """Compile a conman-style ``plan_filter`` (``/@/WS#/@/STREAM.JOB``, ``@`` wildcard)."""

    def pattern(part: str) -> re.Pattern[str]:
        last = part.rstrip("/").rsplit("/", 1)[-1] or "@"
        return re.compile(
            "".join(".*" if c == "@" else "." if c == "?" else re.escape(c) for c in last),
            re.IGNORECASE,
        )

    ws_part, _, rest = text.rpartition("#")
    ws_re = pattern(ws_part or "@")
    stream_part, _, job_part = rest.partition(".")
    stream_re, job_re = pattern(stream_part or "@"), pattern(job_part or "@")
    if kind == "job":
        return lambda j: bool(
            (ws_re.fullmatch(j.stream.workstation.name) or ws_re.fullmatch(j.workstation.name))
            and stream_re.fullmatch(j.stream.name)
            and job_re.fullmatch(j.name)
        )
    return lambda s: bool(ws_re.fullmatch(s.workstation.name) and stream_re.fullmatch(s.name))


def entity(plan: Plan, kind: str) -> tuple[Entity, list[Any]]:
    """Return the OQL entity and the records (plan order) of ``kind``."""
    if kind == "job":
        return _job_entity(plan), plan.jobs
    if kind == "jobstream":
        return _stream_entity(plan), plan.streams
    if kind == "workstation":
        records: list[Any] = list(plan.workstations.values())
        return _serialized_entity(
            plan, records, workstation_json, {"activeStates": "states", "name": "ws"}
        ), records
    records = list(plan.resources.values())
    return _serialized_entity(plan, records, resource_json, {"workstation": "ws"}), records


def select(
    plan: Plan, kind: str, oql_text: str | None, plan_filter: str | None = None
) -> list[Any]:
    """Return the records of ``kind`` matching an OQL filter (and plan filter), sorted."""
    query = oql.parse(oql_text)
    ent, records = entity(plan, kind)
    predicate = compile_filter(query.where, ent)
    candidates = records
    if kind == "job":
        for index, keys in index_keys(query.where, ent):
            if index == "id":
                found = [plan.jobs_by_id.get(str(k).lower()) for k in keys]
                bucket = [j for j in found if j is not None]
            elif index.endswith(":prefix"):
                bucket = plan.prefixed(index.removesuffix(":prefix"), str(keys[0]))
            else:
                bucket = [j for k in keys for j in plan.index[index].get(str(k), ())]
            if len(bucket) < len(candidates):
                candidates = bucket
        if candidates is not records:
            candidates = sorted(set(candidates), key=lambda j: j.order)
    result = [r for r in candidates if predicate(r)]
    if plan_filter:
        if kind not in ("job", "jobstream"):
            raise BadRequest("plan_filter is supported on jobs and job streams only")
        keep = _plan_filter(plan_filter, kind)
        result = [r for r in result if keep(r)]
    if query.order:
        sort_records(result, query.order, ent)
    return result
