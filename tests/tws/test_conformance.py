"""The strict simulator against the shapes of HWA's REST API v2 document (10.1.0.1).

The shapes below are written by hand from the document (``JobInPlanV2``, ``JobRunInstanceV2``,
``DependencyInPlanV2`` and its kinds, ``JobStreamInPlanV2``, ``WorkstationInPlanV2``,
``ResourceInPlanV2``, ``GroupedCountResponse``, ``IssuesResponseV2``, ``FilterActionResponseV2``,
``EngineInfoV2``): every field an answer carries must be declared there with its type, enum
values must be the document's, and no value may be ``null`` (the document declares none
nullable). Then the client and every tool run against the strict simulator: nothing it sends is
refused.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from resync_ext.tws.client import TWSClient
from resync_ext.tws.simulator import ScenarioError
from resync_ext.tws.simulator.scenario import parse_scenario
from resync_ext.tws.simulator.testing import ThreadedSimulator
from resync_ext.tws.tools import TOOL_NAMES, build_tools

API = "/twsd/api/v2"
STR, INT, BOOL, OBJ = "string", "integer", "boolean", "object"
INSTANT, DURATION = "instant", "duration"


class Map:
    """An object whose values all have one type (``additionalProperties``)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def enum(*values: str) -> frozenset[str]:
    return frozenset(values)


COMMON = enum(
    "WAITING", "WAITING_FOR_TRIGGER", "READY", "READY_PREV_WS_NONREP", "COMPLETED",
    "SUPPRESS_BY_COND", "INTERRUPTED", "DUMMY_COMPLETED", "RUNNING", "SUCCESSFUL", "ERROR",
    "CANCELED", "HELD", "UNDECIDED", "BLOCKED", "SUPPRESS",
)  # fmt: skip
JOB_STATUS = enum(
    "HOLD", "READY", "FENCE", "INTRO", "FAIL", "EXEC", "WAIT", "SUPPR", "END", "SUCC", "SUCCP",
    "ABEND", "CANCL", "CANCLP", "ABENP", "PEND", "SUSP", "STUCK", "EXTRN", "INTRPT", "COMPLT",
    "ERROR", "PENDPRED", "STARTED", "UNDCDED", "ARRVING", "NONREPPRED",
)  # fmt: skip
JOB_SUBSTATUS = enum(
    "HOLD_WAITING_FOR_PREDECESSOR", "HOLD_UNEXPECTED_PREDECESSOR_CONDITION",
    "HOLD_WAITING_FOR_TIME", "HOLD_WAITING_FOR_PROMPT", "HOLD_WAITING_FOR_FILE",
    "HOLD_WAITING_FOR_INPUT", "HOLD_PRIORITY_ZERO", "READY_WAITING_FOR_RESOURCES",
    "READY_SUPPRESSED", "SUPPR_UNSATISFIED_DEPENDENCY", "SUPPR_WORKSTATION_IGNORED",
    "READY_SUBMITTED", "READY_WAITING_FOR_LIMIT", "READY_WAITING_FOR_AGENT",
    "READY_WAITING_FOR_USER_INTERVENTION", "SUCC_DO_NOT_RUN", "SUCC_COMPLETED",
)  # fmt: skip
STREAM_STATUS = enum(
    "READY", "HOLD", "EXEC", "ABEND", "CANCL", "CANCLP", "SUCC", "UNKNOWN", "ADD", "FAIL", "WAIT",
    "INTRO", "ABENP", "SUCCP", "SUSP", "STUCK", "PEND", "BOUND", "SUPPR", "EXTRN", "COMPLETE",
    "DELETED", "ERROR", "PENDINGPRED", "STARTED", "UNDECIDED", "WAITFORINPUT", "INTERRUPTED",
    "NONREPORTINGPRED", "SUPPRBYCOND",
)  # fmt: skip
JOB_COMPOSITE = {
    "canceled": BOOL, "status": JOB_STATUS, "substatus": JOB_SUBSTATUS, "error": BOOL,
    "started": BOOL, "cancelPending": BOOL, "dontRun": BOOL,
}  # fmt: skip
STREAM_COMPOSITE = {
    **JOB_COMPOSITE,
    "status": STREAM_STATUS,
    "substatus": enum("WAITING_FOR_RESOURCE", "WAITING_FOR_USER_INTERVENTION"),
}
TIME_INFO = {
    "estimatedDuration": DURATION, "actualStartTime": INSTANT, "elapsedTime": DURATION,
    "actualEndTime": INSTANT,
}  # fmt: skip
JOB_DEFINITION = {
    "id": STR, "jobDefinitionModelId": STR, "folderId": STR, "folder": STR, "name": STR,
    "workstationId": STR, "workstation": STR, "cpuFolderId": STR, "description": STR,
    "task": OBJ, "isCommand": BOOL, "estimatedDuration": DURATION, "recoveryJobId": STR,
    "recoveryJob": STR, "recoveryJobName": STR, "recoveryJobWorkstationId": STR,
    "recoveryJobWorkstation": STR, "recoveryCpuFolderId": STR, "abendPromptId": STR,
    "abendPromptFolder": STR, "abendPromptOriginalName": STR, "abendPromptName": STR,
    "abendPromptText": STR, "planId": STR, "userLogins": [STR],
    "recoveryOption": enum("STOP", "CONTINUE", "CONTINUE_PROMPT", "RERUN", "RERUN_PROMPT"),
    "recoveryRepeatInterval": DURATION, "recoveryRepeatOccurrences": INT,
    "recoveryRepeatAffinity": BOOL, "affinity": STR, "command": BOOL,
}  # fmt: skip
JOB_RUN = {
    "id": STR, "name": STR, "jobId": STR, "jobKey": STR, "actualWorkstation": STR,
    "jobNumber": INT, "compositeStatus": JOB_COMPOSITE, "commonStatus": COMMON,
    "jobDefinition": JOB_DEFINITION, "outputProperties": OBJ, "outputConditions": [OBJ],
    "step": STR, "returnCode": INT, "rerunJob": BOOL, "confirmed": BOOL, "released": BOOL,
    "rerunType": enum(
        "RERUN", "RECOVERY_RERUN", "RERUN_EVERY", "RERUN_FROM", "RECOVERY", "REGULAR", "RERUN_STEP"
    ),
    "timeInfo": TIME_INFO, "submittedTime": INSTANT, "lastInRerunChain": BOOL,
    "minDurationNotReached": BOOL, "maxDurationGone": BOOL, "runAttempt": INT,
}  # fmt: skip
DEPENDENCY_COMMON = {
    "dependencyType": enum(
        "INTERNAL", "EXTERNAL_JOB", "EXTERNAL_JOBSTREAM", "JOIN", "FILE", "RESOURCE",
        "INTERNETWORK", "PROMPT",
    ),
    "id": STR, "dependencyStatus": enum("SATISFIED", "UNSATISFIED", "UNDECIDED", "UNBOUND"),
    "satisfied": BOOL, "depSequence": INT, "mandatory": BOOL,
}  # fmt: skip
CONDITION = enum(
    "STARTED", "EXEC", "COMPLETED", "DUMMY_COMPLETED", "ERROR", "SUCC", "FAIL", "SUPPR",
    "SUPPRESS", "ABEND",
)  # fmt: skip
FLOW_DEPENDENCY = {
    **DEPENDENCY_COMMON, "conditional": BOOL, "critical": BOOL, "statusConditions": [CONDITION],
    "outputConditions": [STR],
}  # fmt: skip
DEPENDENCIES = {
    "INTERNAL": {
        **FLOW_DEPENDENCY, "jobId": STR, "jobName": STR, "predecessorStatus": JOB_COMPOSITE,
        "folderOriginalName": STR, "jobStreamWorkstation": STR, "jobStreamFolder": STR,
        "jobStreamName": STR, "jobStreamSchedTime": INSTANT, "jobSuccId": STR,
    },
    "EXTERNAL_JOB": {
        **FLOW_DEPENDENCY, "jobStreamId": STR, "jobStreamName": STR, "jobStreamWorkstation": STR,
        "jobStreamSchedTime": INSTANT, "jobStreamFolder": STR, "folderOriginalName": STR,
        "jobStreamSuccId": STR, "jobSuccId": STR, "pending": BOOL, "zombie": BOOL, "jobId": STR,
        "jobName": STR, "jobWorkstationName": STR, "predecessorStatus": JOB_COMPOSITE,
    },
    "EXTERNAL_JOBSTREAM": {
        **FLOW_DEPENDENCY, "jobStreamId": STR, "jobStreamName": STR, "jobStreamWorkstation": STR,
        "jobStreamSchedTime": INSTANT, "jobStreamFolder": STR, "folderOriginalName": STR,
        "jobStreamSuccId": STR, "jobSuccId": STR, "pending": BOOL, "zombie": BOOL,
        "predecessorStatus": STREAM_COMPOSITE,
    },
    "PROMPT": {
        **DEPENDENCY_COMMON, "folderId": STR, "folder": STR, "promptName": STR,
        "promptOriginalName": STR, "workstationOriginalName": STR, "workstationId": STR,
        "workstation": STR, "text": STR,
        "promptStatus": enum("NOT_ASKED", "ASKED", "ANSWERED_YES", "ANSWERED_NO"),
        "promptType": enum("Ad Hoc Prompt", "Predefined Prompt", "Restart Prompt"),
        "number": INT, "loadedFromDb": BOOL,
    },
    "RESOURCE": {
        **DEPENDENCY_COMMON, "folderId": STR, "folder": STR, "name": STR, "originalName": STR,
        "workstation": STR, "workstationId": STR, "workstationOriginalName": STR,
        "quantity": INT, "quantityHeld": INT, "available": INT, "totalQuantity": INT,
        "loadedFromDb": BOOL,
    },
    "FILE": {
        **DEPENDENCY_COMMON, "timeLastChecked": INSTANT,
        "file": {
            "name": STR, "id": STR, "workstation": STR, "workstationId": STR, "planId": STR,
            "resourceModelId": STR, "qualifier": STR, "cpuFolderId": STR,
        },
    },
}  # fmt: skip
DEPENDENCY_STATS = {
    k: INT
    for k in (
        "numberOfDependencies", "numberOfJobDependencies", "numberOfJobStreamDependencies",
        "numberOfInternetworkDependencies", "numberOfPromptDependencies",
        "numberOfResourceDependencies", "numberOfFileDependencies",
        "numberOfUnresolvedDependencies", "numberOfNonResourceUnresolvedDependencies",
    )
}  # fmt: skip
TIME_RESTRICTIONS = {
    "startTime": INSTANT, "deadlineTime": INSTANT, "lateAction": enum("continue", "kill"),
    "maxDuration": DURATION, "minDuration": DURATION, "latestStartTime": INSTANT,
    "lateStartAction": enum("doNotRun", "continue", "cancel"), "timeDependent": BOOL,
    "startTimeSatisfied": BOOL, "deadlineSatisfied": BOOL, "latestStartSatisfied": BOOL,
    "maxDurationSatisfied": BOOL, "minDurationSatisfied": BOOL, "perJobLatestStart": BOOL,
}  # fmt: skip
JOB = {
    "flowNodeType": enum("JOB"), "engineId": STR, "id": STR, "persistentId": STR, "planId": STR,
    "folderId": STR, "folder": STR, "name": STR, "workstationId": STR, "workstation": STR,
    "cpuFolderId": STR, "jobStreamId": STR, "jobStreamName": STR, "jobStreamWorkstationId": STR,
    "jobStreamWorkstation": STR, "position": INT, "key": STR,
    "jobDefinitionFlags": {"monitored": BOOL, "aliased": BOOL, "interactive": BOOL},
    "jobStatusFlags": {
        k: BOOL
        for k in (
            "jobStreamCancelled", "promotedToUrgentQueue", "jobLate", "userRerunAgain",
            "restarted", "untilGone", "buckujob", "needMessage", "deadlineHasPassed",
            "altJobIssue",
        )
    },
    "jobOptions": {"noOperation": BOOL, "critical": BOOL, "requiresConfirmation": BOOL,
                   "every": BOOL},
    "lastRunCompositeStatus": JOB_COMPOSITE, "lastRunCommonStatus": COMMON,
    "jobDefinitionRefId": STR, "jobDefinition": JOB_DEFINITION, "priority": INT,
    "origPriority": INT, "jobruns": [JOB_RUN], "schedTime": INSTANT, "cpuTime": DURATION,
    "timeZone": STR, "timeRestrictions": TIME_RESTRICTIONS, "dependencies": ["dependency"],
    "dependenciesStats": DEPENDENCY_STATS, "endTime": INSTANT, "confidenceInterval": STR,
    "criticalStart": INSTANT, "repeatInterval": DURATION,
    "skipLateAction": enum("overlap", "immediate", "none"), "archived": BOOL,
}  # fmt: skip
STREAM = {
    "flowNodeType": enum("JOBSTREAM"), "engineId": STR, "id": STR, "persistentId": STR,
    "planId": STR, "folderId": STR, "folder": STR, "name": STR, "originalJobStreamName": STR,
    "aliasJobStreamName": STR, "workstationId": STR, "workstation": STR, "cpuFolderId": STR,
    "jobStreamModelId": STR, "key": STR, "schedTime": INSTANT, "cpuTime": DURATION,
    "timeZone": STR, "variableTableId": STR,
    "jsDefinitionFlags": {"aliased": BOOL, "carriedForward": BOOL, "isService": BOOL,
                          "service": BOOL},
    "jsStatusFlags": {"released": BOOL, "lateJobStream": BOOL, "pendingPredecessor": BOOL,
                      "hasEveryJobs": BOOL, "inOrder": BOOL, "dontTouch": BOOL},
    "jsOptions": {"monitored": BOOL, "carryForward": BOOL},
    "compositeStatus": STREAM_COMPOSITE, "commonStatus": COMMON, "priority": INT,
    "origPriority": INT, "timeInfo": TIME_INFO, "scheduledDate": INSTANT,
    "jobStreamStats": {
        k: INT
        for k in (
            "numberOfJob", "numberOfCurrentNodes", "numberOfSuccessfullJob", "numberOfDeltaJob",
            "numberOfDeltaSuccJob", "numberOfNotRunningJob", "numberOfExecutingJob",
            "numberOfAbendedJob", "numberOfFailedJob", "numberOfUndecidedJob",
        )
    },
    "dependencies": ["dependency"], "dependenciesStats": DEPENDENCY_STATS,
    "timeRestrictions": TIME_RESTRICTIONS, "limit": INT, "jobs": [JOB], "serviceName": STR,
    "serviceContact": STR, "submitter": STR, "internalIdentifier": STR,
    "followsDepSequenceNum": INT, "workstationClass": STR, "archived": BOOL,
    "outputProperties": Map(STR),
}  # fmt: skip
WORKSTATION = {
    "engineId": STR, "id": STR, "persistentId": STR, "planId": STR, "folderId": STR,
    "folder": STR, "name": STR, "key": STR, "symId": STR, "runNumber": INT, "description": STR,
    "activeStates": [enum(
        "MASTER", "MANAGER", "LINKED", "FULLY_LINKED", "DIRECTLY_LINKED", "HOST_LINKED",
        "EXTENDED_LINKED", "BROKER", "START", "RUNNING", "TCP_IP_LINKED", "MONMAN",
        "INSTALLED_AND_RUNNING", "INSTALLED", "UPDATE", "SERVER_STARTED", "SERVER_RESTARTING",
        "ONLINE", "WRITER_RUNNING", "JOBMAN_UP", "WRITER_UP", "EVT_PROC_RUNNING", "SSM_RUNNING",
        "CONFIG_UPDATED", "BEHIND_FIREWALL", "IS_INITED",
    )],
    "activeFlags": [enum(
        "AUTO_LINK", "DISABLED_DEACTIVE_JOB_LAUNCHING_FLAG", "FULL_STATUS", "MAILMAN",
        "BEHIND_FIREWALL", "TCP_IP_LINK",
    )],
    "type": enum(
        "AGENT", "POOL", "D-POOL", "REM-ENG", "MANAGER", "FTA", "X-AGENT", "S-AGENT",
        "WORKLOAD_BROKER", "DOMAIN_MANAGER",
    ),
    "hostType": enum("MASTER", "MANAGER", "WORKSTATION"),
    "os": enum("WINDOWS", "UNIX", "LINUX", "ZOS", "AIX", "HPUX", "SOLARIS", "AS400", "WEB",
               "OTHER"),
    "timeZone": STR, "nodeName": STR, "tcpPort": INT, "domainName": STR, "limit": INT,
    "fence": INT, "agentId": STR, "version": STR, "userInfo": STR, "requested": INT,
    "createdTimestamp": INSTANT, "timeStarted": INSTANT, "sslPort": INT, "host": STR,
    "hostWorkstation": STR, "mailmanServerId": STR, "ignore": BOOL, "archived": BOOL,
}  # fmt: skip
RESOURCE = {
    "engineId": STR, "id": STR, "persistentId": STR, "folderId": STR, "folder": STR,
    "name": STR, "key": STR, "workstationId": STR, "workstation": STR, "quantity": INT,
    "quantityAvailable": INT, "description": STR, "quantityInUse": INT,
    "holders": [{"jobStreamId": STR, "jobStream": STR, "jobId": STR, "job": STR,
                 "jobKey": STR, "quantity": INT, "shared": BOOL}],
    "archived": BOOL, "status": enum("AVAILABLE", "NOT_AVAILABLE", "UNDECIDED"),
    "internalIdentifier": STR,
}  # fmt: skip
ENGINE_INFO = {
    "displayVersion": STR, "fullVersion": STR, "capabilities": Map(Map(STR)),
    "adminRoles": {"admin": [{"key": STR, "label": STR, "description": STR}]},
    "referenceId": STR, "licenseType": STR, "locale": STR, "timezone": STR,
}  # fmt: skip


def page_of(item: Any) -> dict[str, Any]:
    return {"count": INT, "results": [item], "next": STR, "previous": STR}


GROUPED_COUNT = {"count": INT, "groupedCount": Map(INT)}
ISSUES = {"issues": [{"id": STR, "issueMessage": STR, "issueType": STR}]}
ACTION_ANSWER = {"id": STR, "url": STR, "message": STR, "isError": BOOL, "error": BOOL}
FILTER_ACTION = {"successfulResourceResponses": [ACTION_ANSWER],
                 "failedResourceResponses": [ACTION_ANSWER]}  # fmt: skip
RESOURCE_RESPONSE = {"id": STR, "url": STR}


def check(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Return where ``value`` departs from ``shape`` (empty: it conforms)."""
    if value is None:
        return [f"{path}: null"]
    if shape == "dependency":
        kind = value.get("dependencyType") if isinstance(value, dict) else None
        if kind not in DEPENDENCIES:
            return [f"{path}: dependencyType {kind!r} not in the document"]
        return check(value, DEPENDENCIES[kind], path)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        out = [f"{path}.{k}: not in the document" for k in value if k not in shape]
        for k, v in value.items():
            if k in shape:
                out += check(v, shape[k], f"{path}.{k}")
        return out
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        return [p for i, v in enumerate(value) for p in check(v, shape[0], f"{path}[{i}]")]
    if isinstance(shape, Map):
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        return [p for k, v in value.items() for p in check(v, shape.value, f"{path}.{k}")]
    if isinstance(shape, frozenset):
        return [] if value in shape else [f"{path}: {value!r} is not a documented value"]
    ok = {
        STR: isinstance(value, str),
        INT: isinstance(value, int) and not isinstance(value, bool),
        BOOL: isinstance(value, bool),
        OBJ: isinstance(value, dict),
        INSTANT: isinstance(value, str) and _instant(value),
        DURATION: isinstance(value, str) and value.startswith("P"),
    }[shape]
    return [] if ok else [f"{path}: {value!r} is not {shape}"]


def _instant(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@pytest.fixture
def http(twsim: ThreadedSimulator) -> Any:
    with httpx.Client(
        base_url=twsim.url + API, auth=twsim.auth, headers={"Accept": "application/json"}
    ) as client:
        yield client


def get(http: httpx.Client, path: str, **params: Any) -> Any:
    r = http.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def test_the_strict_simulator_is_the_default(twsim: ThreadedSimulator) -> None:
    assert twsim.strict is True
    assert httpx.get(f"{twsim.url}/twsim/scenario").json()["strict"] is True


def test_every_read_answer_has_the_documents_shape(http: httpx.Client) -> None:
    every_job = get(http, "/plan/job", limit=10000)
    problems = check(every_job, page_of(JOB))
    ids = {j["name"]: j["id"] for j in every_job["results"]}
    for name in ("PAYROLL_EXTRACT", "CUSTOMER_MERGE", "CLOSE_PERIOD", "WAIT_ORDERS",
                 "PAYROLL_CALC", "FACT_SALES_LOAD", "USAGE_RATING"):  # fmt: skip
        problems += check(get(http, f"/plan/job/{ids[name]}"), JOB)
        flow = get(http, f"/plan/job/{ids[name]}/successors", depth=2)
        problems += check(flow, {"count": INT, "results": [OBJ]})  # ListResponseV21
        for node in flow["results"]:
            problems += check(node, JOB if node["flowNodeType"] == "JOB" else STREAM)
    streams = get(http, "/plan/jobstream")
    problems += check(streams, page_of(STREAM))
    for stream in streams["results"][:8]:
        problems += check(get(http, f"/plan/jobstream/{stream['id']}"), STREAM)
    stations = get(http, "/plan/workstation")
    problems += check(stations, page_of(WORKSTATION))
    problems += check(get(http, f"/plan/workstation/{stations['results'][0]['id']}"), WORKSTATION)
    problems += check(get(http, "/plan/resource"), page_of(RESOURCE))
    problems += check(get(http, "/engine/info"), ENGINE_INFO)
    counted = get(http, "/plan/job/count", plan_filter="/@/@#/@/@.@", grouping_filters="status")
    problems += check(counted, GROUPED_COUNT)
    problems += check(
        get(http, "/plan/jobstream/count", plan_filter="/@/@#/@/@", grouping_filters="status"),
        GROUPED_COUNT,
    )
    issues = get(http, "/plan/job/issues", oql="jobruns.compositeStatus.status IN ['ABEND']")
    problems += check(issues, ISSUES)
    health = get(http, "/plan/workstation/action/health-status", oql="name LIKE 'AGT@'",
                 max_object_affected=50)  # fmt: skip
    problems += check(health, FILTER_ACTION)
    by_id = get(http, f"/plan/workstation/{stations['results'][0]['id']}/action/health-status")
    problems += check(by_id, RESOURCE_RESPONSE)
    assert problems == []
    assert {i["id"] for i in issues["issues"]} >= {ids["PAYROLL_EXTRACT"]}
    assert health["failedResourceResponses"] and health["successfulResourceResponses"]


def test_a_job_log_asked_as_json_is_406_and_as_text_is_text(http: httpx.Client) -> None:
    job = get(http, "/plan/job", oql="name = 'PAYROLL_EXTRACT'")["results"][0]
    path = f"/plan/job/run/{job['jobruns'][-1]['id']}/joblog"
    refused = http.get(path)  # the fixture's client accepts application/json only
    assert refused.status_code == 406
    assert (
        http.get("/plan/job/joblog", params={"oql": "name = 'PAYROLL_EXTRACT'"}).status_code == 406
    )
    for accept in ("text/plain", "text/*", "*/*", "application/json, text/plain;q=0.5"):
        r = http.get(path, headers={"Accept": accept})
        assert r.status_code == 200, accept
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert "ORA-01017" in r.text
    assert http.get(path, headers={"Accept": "text/plain;q=0"}).status_code == 406
    # and a JSON endpoint asked for text is refused the same way
    assert http.get("/engine/info", headers={"Accept": "text/plain"}).status_code == 406


@pytest.mark.parametrize(
    ("scenario", "refused"),
    [
        ({"workstations": [{"name": "W", "type": "MAINFRAME"}]}, "workstation type"),
        ({"workstations": [{"name": "W", "os": "BEOS"}]}, "operating system"),
        ({"prompts": [{"name": "P", "text": "ok?", "status": "MAYBE"}]}, "prompt status"),
    ],
)
def test_a_scenario_can_only_say_what_the_document_lets_an_engine_answer(
    scenario: dict[str, Any], refused: str
) -> None:
    with pytest.raises(ScenarioError, match=refused):
        parse_scenario(scenario)


def test_a_missing_required_parameter_is_400(http: httpx.Client) -> None:
    for path in ("/plan/job/count", "/plan/jobstream/count"):
        r = http.get(path, params={"grouping_filters": "status"})
        assert r.status_code == 400 and "plan_filter" in r.json()["message"], path


def test_include_count_and_pagination_as_documented(http: httpx.Client) -> None:
    total = get(http, "/plan/job/count", plan_filter="/@/@#/@/@.@")["count"]
    first = http.get("/plan/job", params={"limit": 100}, headers={"Include-Count": "true"}).json()
    assert first["count"] == total and "previous" not in first and len(first["results"]) == 100
    second = http.get(first["next"]).json()
    assert second["previous"] and [j["id"] for j in second["results"]] != [
        j["id"] for j in first["results"]
    ]
    without = http.get("/plan/job", params={"limit": 5}, headers={"Include-Count": "false"})
    assert "count" not in without.json() and check(without.json(), page_of(JOB)) == []
    last = get(http, "/plan/job", limit=100, offset=(total // 100) * 100)
    assert "next" not in last and len(last["results"]) == total % 100


def test_the_previous_plan_is_served_by_its_id(
    twsim: ThreadedSimulator, http: httpx.Client
) -> None:
    previous = httpx.get(f"{twsim.url}/twsim/scenario").json()["previousPlanId"]
    jobs = get(http, "/plan/job", plan_id=previous, oql="jobruns.commonStatus = 'ERROR'")
    assert [j["name"] for j in jobs["results"]] == ["SALES_LOAD"]
    assert check(jobs, page_of(JOB)) == []
    assert jobs["results"][0]["planId"] == previous
    assert http.get("/plan/job", params={"plan_id": "not-a-plan"}).status_code == 404


@pytest.mark.asyncio
async def test_the_client_and_every_tool_are_answered_by_the_strict_simulator(
    twsim: ThreadedSimulator,
) -> None:
    async with TWSClient(twsim.url, user=twsim.user, password=twsim.password) as c:
        tools = build_tools(c)
        args: dict[str, list[dict[str, Any]]] = {
            "plan_summary": [{}],
            "list_jobs": [{"status": "ABEND"}, {"name": "PAYROLL*"}],
            "get_job": [{"job": "PAYROLL_EXTRACT"}, {"job": "CLOSE_PERIOD"}],
            "get_job_log": [{"job": "PAYROLL_EXTRACT"}, {"job": "AD_EXPORT"}],
            "get_dependencies": [{"job": "PAYROLL_CALC", "depth": 2}],
            "list_job_streams": [{"status": "ERROR"}],
            "list_workstations": [{}],
            "list_resources": [{"exhausted_only": True}],
            "lookup_known_issue": [{"text": "ORA-01017"}],
        }
        assert set(args) == set(TOOL_NAMES)
        for name, calls in args.items():
            for kw in calls:
                out = await tools[name](**kw)
                assert "error" not in out and "notes" not in out, (name, out)
        await c.count_jobs(["workstation", "status"])
        await c.job_stream_predecessors(
            (await c.list_job_streams("name = 'PAYROLL_REPORTS'")).items[0].id or ""
        )
    calls = [x for x in twsim.calls() if x["path"].startswith(API)]
    assert len(calls) > 20
    assert [x for x in calls if x["status"] != 200] == []  # nothing refused: 406, 400...
    # OQL names only fields as the document spells them (paths of the object's shape).
    shapes = {"/plan/job": JOB, "/plan/jobstream": STREAM, "/plan/workstation": WORKSTATION,
              "/plan/resource": RESOURCE, "/plan/job/issues": JOB,
              "/plan/workstation/action/health-status": WORKSTATION}  # fmt: skip
    asked = [
        (x["path"].removeprefix(API), x["params"]["oql"]) for x in calls if "oql" in x["params"]
    ]
    assert len(asked) > 10
    for path, oql in asked:
        for name in oql_fields(oql):
            assert field_in(shapes[path], name), (path, name, oql)


def oql_fields(oql: str) -> list[str]:
    """Return the field names an OQL filter compares (quoted literals set aside)."""
    bare = re.sub(r"'[^']*'", "''", oql)
    return re.findall(r"([A-Za-z][\w.]*)\s+(?:=|!=|IN\b|LIKE\b|NOT\b)", bare)


def field_in(shape: Any, dotted: str) -> bool:
    """Return whether ``dotted`` is a path through ``shape`` (arrays are walked into)."""
    node = shape
    for part in dotted.split("."):
        while isinstance(node, list):
            node = node[0]
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True
