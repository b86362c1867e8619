"""The agents' TWS tools against the demo plan served by the simulator over HTTP."""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from resync_ext.tws.client import TWSClient
from resync_ext.tws.resilience import CircuitBreaker, RetryPolicy
from resync_ext.tws.simulator.testing import ThreadedSimulator
from resync_ext.tws.tools import TOOL_NAMES, build_tools

Tools = dict[str, Any]


@pytest_asyncio.fixture
async def tools(twsim: ThreadedSimulator) -> AsyncIterator[Tools]:
    client = TWSClient(
        twsim.url,
        user=twsim.user,
        password=twsim.password,
        retry=RetryPolicy(max_attempts=1),
        breaker=CircuitBreaker(failure_threshold=100),
    )
    try:
        yield build_tools(client)
    finally:
        await client.aclose()


def names(items: list[dict[str, Any]]) -> set[str]:
    return {i["name"] for i in items}


@pytest.mark.asyncio
async def test_plan_summary_names_what_went_wrong(tools: Tools) -> None:
    out = await tools["plan_summary"]()
    assert out["total_jobs"] > 200 and sum(out["by_status"].values()) == out["total_jobs"]
    assert names(out["failed_jobs"]["items"]) == {
        "PAYROLL_EXTRACT", "SALES_STAGE", "IMPORT_STMT", "AD_EXPORT",
    }  # fmt: skip
    assert "FACT_SALES_LOAD" in names(out["late_critical_jobs"]["items"])
    problems = {w["name"]: w["problems"] for w in out["workstation_problems"]}
    assert problems["AGT_WIN02"] == ["unlinked"] and problems["AGT_BKP01"] == ["fence 40"]
    assert out["exhausted_resources"] == ["DB_SLOTS"]
    assert out["waiting_reasons"]["READY_WAITING_FOR_AGENT"] == 3
    assert out["waiting_reasons"]["READY_WAITING_FOR_LIMIT"] == 2
    assert len(json.dumps(out)) < 8000  # bounded for a prompt


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    ["PAYROLL_EXTRACT", "payroll extract", "Payroll-Extract", "daily_pay.payroll_extract",
     "MDM#DAILY_PAY.PAYROLL_EXTRACT", "payrol extrct", "payroll_extrakt"],
)  # fmt: skip
async def test_get_job_finds_the_job_the_user_means(tools: Tools, text: str) -> None:
    out = await tools["get_job"](job=text)
    assert out["name"] == "PAYROLL_EXTRACT", out
    assert out["status"] == "ERROR" and out["return_code"] == 12 and out["run_id"]
    assert out["known_issues"][0].startswith("R1")


@pytest.mark.asyncio
async def test_get_job_by_id_and_ambiguity_and_unknown(tools: Tools) -> None:
    first = await tools["get_job"](job="PAYROLL_EXTRACT")
    assert (await tools["get_job"](job=first["id"]))["name"] == "PAYROLL_EXTRACT"
    many = await tools["get_job"](job="export")
    assert many["error"]["kind"] == "ambiguous"
    assert {"EXPORT_SALES_XLS", "AD_EXPORT"} <= names(many["candidates"])
    none = await tools["get_job"](job="NO_SUCH_THING_AT_ALL")
    assert none["error"]["kind"] == "not_found"
    bad = await tools["get_job"](job="x' OR name LIKE '@")
    assert bad["error"]["kind"] == "bad_request"


@pytest.mark.asyncio
async def test_get_job_log_gives_errors_tail_and_masks_secrets(
    tools: Tools, twsim: ThreadedSimulator
) -> None:
    out = await tools["get_job_log"](job="payroll extract", tail_lines=5)
    assert "ORA-01017: invalid username/password; logon denied" in out["error_lines"]
    assert out["return_code"] == 12 and len(out["tail"].splitlines()) == 5
    assert out["known_issues"][0].startswith("R1.db-credentials")
    async with TWSClient(twsim.url, user=twsim.user, password=twsim.password) as c:
        raw = await c.get_job_log(out["run_id"])
    secret = re.search(r"PAYROLL_APP/([^@\s]+)@PAYDB", raw)
    assert secret and secret.group(1) != "***"
    full = await tools["get_job_log"](job="PAYROLL_EXTRACT", tail_lines=100)
    assert secret.group(1) not in json.dumps(full) and "PAYROLL_APP/***@PAYDB" in full["tail"]

    failed = await tools["get_job_log"](job="HR_SYNC.AD_EXPORT")
    assert failed["aws_codes"][:2] == ["AWSBHT001E", "AWSBDW009E"]


@pytest.mark.asyncio
async def test_get_dependencies_shows_what_holds_a_job(tools: Tools) -> None:
    extract = await tools["get_dependencies"](job="PAYROLL_EXTRACT")
    held = [s for s in extract["successors"]["items"] if "name" in s]
    assert held and all(s["substatus"] == "HOLD_WAITING_FOR_PREDECESSOR" for s in held)
    child = await tools["get_dependencies"](job=held[0]["id"])
    assert {"dependency": "job DAILY_PAY.PAYROLL_EXTRACT", "type": "INTERNAL",
            "status": "UNSATISFIED", "predecessor_status": "ABEND"} in child["held_by"]  # fmt: skip
    merge = await tools["get_dependencies"](job="customer merge")
    assert merge["held_by"][0]["type"] == "RESOURCE"
    assert "DB_SLOTS" in merge["held_by"][0]["dependency"]


@pytest.mark.asyncio
async def test_lists_are_filtered_and_bounded(tools: Tools) -> None:
    few = await tools["list_jobs"](limit=5)
    assert few["returned"] == 5 and few["left_out"] == few["total"] - 5 and few["note"]
    waiting = await tools["list_jobs"](status="WAITING", limit=50)
    assert waiting["items"] and {j["status"] for j in waiting["items"]} == {"WAITING"}
    abended = await tools["list_jobs"](status="abend,fail")
    assert names(abended["items"]) == {"PAYROLL_EXTRACT", "SALES_STAGE", "IMPORT_STMT",
                                       "AD_EXPORT"}  # fmt: skip
    on_win = await tools["list_jobs"](workstation="AGT_WIN02", name="EXPORT*")
    assert names(on_win["items"]) == {"EXPORT_SALES_XLS", "EXPORT_STOCK_XLS", "EXPORT_HR_XLS"}
    in_stream = await tools["list_jobs"](stream="daily_pay")
    assert {j["stream"] for j in in_stream["items"]} == {"DAILY_PAY"}

    streams = await tools["list_job_streams"](status="ERROR")
    assert "DAILY_PAY" in names(streams["items"])
    assert all(s["status"] == "ERROR" for s in streams["items"])

    stations = await tools["list_workstations"](problems_only=True)
    assert names(stations["items"]) == {"AGT_WIN02", "AGT_BKP01"}
    assert stations["with_problems"] == 2

    res = await tools["list_resources"](exhausted_only=True)
    assert names(res["items"]) == {"DB_SLOTS"} and res["items"][0]["available"] == 0


@pytest.mark.asyncio
async def test_lookup_known_issue_tool(tools: Tools) -> None:
    out = await tools["lookup_known_issue"](status="READY", substatus="READY_WAITING_FOR_AGENT")
    assert out["matches"][0]["rule"] == "R12" and out["matches"][0]["next_steps"]
    empty = await tools["lookup_known_issue"](text="all good", status="SUCC", return_code=0)
    assert empty["matches"] == [] and empty["note"]


@pytest.mark.asyncio
async def test_errors_come_back_as_data(tools: Tools, twsim: ThreadedSimulator) -> None:
    twsim.set_faults(down=True)
    for name in ("plan_summary", "list_workstations"):
        out = await tools[name]()
        assert out["error"]["kind"] == "unavailable", out
    twsim.set_faults(down=False, auth_fail=True)
    out = await tools["get_job"](job="PAYROLL_EXTRACT")
    assert out["error"]["kind"] == "auth" and out["error"]["status"] == 401


def test_tools_are_introspectable_for_an_agent(twsim: ThreadedSimulator) -> None:
    client = TWSClient(twsim.url, user=twsim.user, password=twsim.password)
    tools = build_tools(client)
    assert tuple(tools) == TOOL_NAMES
    for name, fn in tools.items():
        assert fn.__name__ == name and inspect.iscoroutinefunction(fn)
        assert fn.__doc__ and len(fn.__doc__) > 40
        hints = typing.get_type_hints(fn)
        assert hints["return"] == dict[str, Any]
        assert set(inspect.signature(fn).parameters) <= set(hints)


@pytest.mark.slow
def test_dspy_reads_the_tools(twsim: ThreadedSimulator) -> None:
    dspy = pytest.importorskip("dspy")
    client = TWSClient(twsim.url, user=twsim.user, password=twsim.password)
    tool = dspy.Tool(build_tools(client)["list_jobs"])
    assert tool.name == "list_jobs" and "status" in tool.args and "limit" in tool.args
    assert tool.args["limit"]["default"] == 20 and "wildcard" in tool.desc
