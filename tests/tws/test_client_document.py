"""The client follows the document and reads leniently (issue #20), one test per point.

Against the strict simulator (the default): the job log is asked as text (no 406), counts carry
the document's ``plan_filter``, a part of the plan summary that fails leaves the rest. At the
edge (an httpx transport that rewrites what the simulator answered, as another engine version
would): ``null`` in list fields, unknown enum values, extra fields and values of the wrong type
never fail an object or a page, and the tools say what they could not read. A 50 MB job log is
read within the bound, and only the bounded result is cached.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from resync_ext.tws.client import TWSClient
from resync_ext.tws.errors import TWSWriteRefused
from resync_ext.tws.log_reader import BoundedLog
from resync_ext.tws.resilience import RetryPolicy
from resync_ext.tws.simulator.testing import ThreadedSimulator, run_in_thread
from resync_ext.tws.tools import build_tools

API = "/twsd/api/v2"
Rewrite = Callable[[str, Any], Any]


def client_for(sim: ThreadedSimulator, **kw: Any) -> TWSClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))
    return TWSClient(sim.url, user=sim.user, password=sim.password, **kw)


class RewritingTransport(httpx.AsyncBaseTransport):
    """Forward to the real simulator, then rewrite its JSON as another engine would send it."""

    def __init__(self, rewrite: Rewrite) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._rewrite = rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await self._inner.handle_async_request(request)
        if not resp.headers.get("content-type", "").startswith("application/json"):
            return resp
        body = json.loads(await resp.aread())
        out = json.dumps(self._rewrite(request.url.path, body)).encode()
        return httpx.Response(
            resp.status_code, headers={"content-type": "application/json"}, content=out
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def _walk(value: Any, fn: Callable[[dict[str, Any]], None]) -> Any:
    if isinstance(value, dict):
        children = list(value.values())  # before fn: what fn adds is not walked
        fn(value)
        for v in children:
            _walk(v, fn)
    elif isinstance(value, list):
        for v in value:
            _walk(v, fn)
    return value


LIST_FIELDS = ("jobruns", "dependencies", "jobs", "holders", "activeStates", "activeFlags",
               "userLogins", "statusConditions", "outputConditions")  # fmt: skip


def nulls_everywhere(path: str, body: Any) -> Any:
    """Null every list field, the grouped counts, and a value of the wrong type here and there."""

    def null(d: dict[str, Any]) -> None:
        for key in (*LIST_FIELDS, "groupedCount", "substatus", "jobStreamStats"):
            if key in d:
                d[key] = None
        if "priority" in d:
            d["priority"] = "high"  # a string where the document has an integer
        d["fieldOfANewerEngine"] = {"x": [1, None]}

    if isinstance(body, dict) and isinstance(body.get("results"), list):
        body["results"].append(None)  # an item that is not an object at all
    return _walk(body, null)


@pytest.mark.asyncio
async def test_the_job_log_is_asked_as_text_and_a_json_ask_would_be_406(
    twsim: ThreadedSimulator,
) -> None:
    async with client_for(twsim) as c:
        log = await c.get_job_log(
            job_id=(await c.list_jobs("name = 'PAYROLL_EXTRACT'")).items[0].id
        )
        assert "ORA-01017" in log
        run_id = (await c.list_jobs("name = 'PAYROLL_EXTRACT'")).items[0].latest_run.id  # type: ignore[union-attr]
    logs = [x for x in twsim.calls() if x["path"].endswith("/joblog")]
    assert logs and all(x["status"] == 200 for x in logs)
    asked_as_json = httpx.get(
        f"{twsim.url}{API}/plan/job/run/{run_id}/joblog",
        auth=twsim.auth,
        headers={"Accept": "application/json"},
    )
    assert asked_as_json.status_code == 406


@pytest.mark.asyncio
async def test_counts_send_the_documents_plan_filter(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim) as c:
        counts = await c.count_jobs("status")
        scoped = await c.count_jobs(plan_filter="/@/@#/@/DAILY_PAY.@")
    assert counts.count > 200 and counts.grouped_count["ERROR"] == 4
    assert 0 < scoped.count < counts.count
    sent = [x["params"] for x in twsim.calls() if x["path"] == f"{API}/plan/job/count"]
    assert sent[0]["plan_filter"] == "/@/@#/@/@.@" and sent[0]["grouping_filters"] == "status"
    assert sent[1]["plan_filter"] == "/@/@#/@/DAILY_PAY.@"


@pytest.mark.asyncio
async def test_nulls_wrong_types_and_extra_fields_fail_no_object_and_no_page(
    twsim: ThreadedSimulator,
) -> None:
    transport = RewritingTransport(nulls_everywhere)
    async with client_for(twsim, transport=transport) as c:
        page = await c.list_jobs("jobruns.compositeStatus.status IN ['ABEND', 'FAIL']")
        assert len(page.items) == 4 and page.total == 4
        assert all(j.jobruns == [] and j.priority is None for j in page.items)
        assert any("could not be read at all" in n for n in page.notes)
        assert any("priority='high'" in n for n in page.notes)
        job = await c.get_job(page.items[0].id or "")
        assert job.dependencies == [] and job.jobruns == [] and job.name == page.items[0].name
        stations = await c.list_workstations()
        assert stations.items and all(w.active_states == [] for w in stations.items)
        counts = await c.count_jobs("status")
        assert counts.count > 200 and counts.grouped_count == {}
        stream = (await c.list_job_streams("name = 'DAILY_PAY'")).items[0]
        detail = await c.get_job_stream(stream.id or "")
        assert detail.jobs == [] and detail.name == "DAILY_PAY"
        resources = await c.list_resources()
        assert resources.items and all(r.holders == [] for r in resources.items)
        tools = build_tools(c)
        listed = await tools["list_jobs"](status="ERROR")
        assert "error" not in listed and listed["returned"] == 4
        assert any("could not read" in n for n in listed["notes"])
        summary = await tools["plan_summary"]()
        assert "error" not in summary and summary["total_jobs"] > 200


def new_status(path: str, body: Any) -> Any:
    """A newer engine: PAYROLL_EXTRACT is in a status the document does not know."""

    def change(d: dict[str, Any]) -> None:
        if d.get("name") == "PAYROLL_EXTRACT" and "lastRunCommonStatus" in d:
            d["lastRunCommonStatus"] = "WAITING_FOR_APPROVAL"
            d["lastRunCompositeStatus"]["status"] = "APPRVL"

    return _walk(body, change)


@pytest.mark.asyncio
async def test_an_unknown_status_is_read_and_named(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim, transport=RewritingTransport(new_status)) as c:
        job = (await c.list_jobs("name = 'PAYROLL_EXTRACT'")).items[0]
        assert job.status == "WAITING_FOR_APPROVAL" and job.internal_status == "APPRVL"
        assert not job.is_failure
        out = await build_tools(c)["get_job"](job="PAYROLL_EXTRACT")
    assert out["status"] == "WAITING_FOR_APPROVAL" and out["internal_status"] == "APPRVL"
    assert any("'WAITING_FOR_APPROVAL' is not in the API v2 vocabulary" in n for n in out["notes"])
    assert any("'APPRVL'" in n for n in out["notes"])


@pytest.mark.asyncio
async def test_a_failing_part_of_plan_summary_degrades_alone(twsim: ThreadedSimulator) -> None:
    twsim.set_faults(error_rate=1.0, error_status=400, error_paths=["/plan/job/count"])
    async with client_for(twsim) as c:
        out = await build_tools(c)["plan_summary"]()
    assert "error" not in out
    assert "total_jobs" not in out and "by_status" not in out
    assert [n for n in out["notes"] if n.startswith("job counts could not be read: AWSBEH023E")]
    assert {j["name"] for j in out["failed_jobs"]["items"]} == {
        "PAYROLL_EXTRACT", "SALES_STAGE", "IMPORT_STMT", "AD_EXPORT"
    }  # fmt: skip
    assert out["waiting_reasons"] and out["workstation_problems"] and out["exhausted_resources"]
    twsim.set_faults(error_paths=[])  # every read fails: then the tool says so
    async with client_for(twsim) as c:
        out = await build_tools(c)["plan_summary"]()
    assert out["error"]["kind"] == "bad_request"


@pytest.mark.asyncio
async def test_an_engine_without_counts_still_gets_a_summary_over_503(
    twsim: ThreadedSimulator,
) -> None:
    twsim.set_faults(error_rate=1.0, error_status=503, error_paths=["/plan/jobstream"])
    async with client_for(twsim) as c:
        out = await build_tools(c)["plan_summary"]()
    assert out["total_jobs"] > 200
    assert any(n.startswith("late job streams could not be read") for n in out["notes"])


async def _fifty_megabytes() -> AsyncIterator[bytes]:
    line = b"2026-11-24 01:00:00 INFO  row batch processed, nothing to report here .......\n"
    block = line * 1000
    for i in range(50 * 1024 * 1024 // len(block) + 1):
        if i == 300:
            yield b"2026-11-24 01:10:00 ERROR ORA-01653: unable to extend table SALES_FACT\n"
        yield block
    yield b"= Exit Status           : 12\n"


def fifty_mb_log(request: httpx.Request) -> httpx.Response:
    """An engine serving a 50 MB job log as text/plain (JSON reads come from nowhere here)."""
    assert request.headers["accept"] == "text/plain"
    assert request.url.path.endswith("/plan/job/run/run-1/joblog")
    return httpx.Response(
        200, headers={"content-type": "text/plain; charset=utf-8"}, content=_fifty_megabytes()
    )


@pytest.mark.asyncio
async def test_a_50_mb_job_log_is_read_within_the_bound_and_cached_bounded() -> None:
    bound = 64 * 1024
    async with TWSClient(
        "http://engine.example:31116",
        user="u",
        password="p",
        max_log_bytes=bound,
        transport=httpx.MockTransport(fifty_mb_log),
    ) as c:
        log = await c.read_job_log("run-1")
        assert log.total_bytes > 50 * 1024 * 1024 and log.truncated
        assert log.size <= bound and len(log.text) <= bound + 1000
        assert any("ORA-01653" in line for _, line in log.errors)
        assert log.tail[-1] == "= Exit Status           : 12"
        cached = [v for _, v in c.cache._data.values()]
        assert cached == [log] and isinstance(cached[0], BoundedLog)
        text = await c.get_job_log("run-1")  # from the cache: the same bounded text
        assert text == log.text and c.cache.stats.hits == 1


@pytest.mark.asyncio
async def test_the_tool_reads_a_long_log_from_the_strict_simulator_within_the_bound() -> None:
    noise = "\n".join(f"step {i}: copied block {i} of 40000" for i in range(40000))
    scenario = {
        "now": "2026-11-24T07:30:00Z",
        "workstations": [{"name": "AGT1"}],
        "job_streams": [
            {
                "name": "BIG",
                "sched_time": "2026-11-24T01:00:00Z",
                "jobs": [
                    {
                        "name": "CHATTY",
                        "workstation": "AGT1",
                        "status": "ABEND",
                        "return_code": 3,
                        "start": "2026-11-24T01:00:00Z",
                        "end": "2026-11-24T01:30:00Z",
                        "log": f"{noise}\nfatal: checksum mismatch in block 39999\n{noise}",
                    }
                ],
            }
        ],
    }
    with run_in_thread(scenario) as sim:
        async with client_for(sim, max_log_bytes=32 * 1024) as c:
            out = await build_tools(c)["get_job_log"](job="CHATTY", tail_lines=5)
    assert "error" not in out and out["lines"] > 80000 and out["log_lines_left_out"] > 70000
    assert any("checksum mismatch" in ln for ln in out["error_lines"])
    assert out["tail"].splitlines()[-1].startswith("=")  # the trailer of the engine's log
    assert any("only its head, error lines and last lines" in n for n in out["notes"])


@pytest.mark.asyncio
async def test_what_failed_yesterday_after_the_plan_turned_over(twsim: ThreadedSimulator) -> None:
    previous = httpx.get(f"{twsim.url}/twsim/scenario").json()["previousPlanId"]
    async with client_for(twsim) as c:
        tools = build_tools(c)
        failed = await tools["list_jobs"](status="ERROR", plan_id=previous)
        log = await tools["get_job_log"](job="SALES_LOAD", plan_id=previous)
        job = await tools["get_job"](job="SALES_LOAD", plan_id=previous)
        today = await tools["get_job"](job="SALES_LOAD")
        summary = await tools["plan_summary"](plan_id=previous)
    assert [j["name"] for j in failed["items"]] == ["SALES_LOAD"]
    assert "ORA-00060" in " ".join(log["error_lines"]) and log["return_code"] == 8
    assert job["status"] == "ERROR" and job["plan_id"] == previous
    assert today["status"] != "ERROR"
    assert summary["total_jobs"] == 4 and summary["failed_jobs"]["returned"] == 1
    sent = [x["params"].get("plan_id") for x in twsim.calls() if "/plan/job" in x["path"]]
    assert previous in sent


@pytest.mark.asyncio
async def test_get_job_shows_what_the_engine_knows(twsim: ThreadedSimulator) -> None:
    async with client_for(twsim) as c:
        tools = build_tools(c)
        rerun = await tools["get_job"](job="USAGE_RATING")
        stage = await tools["get_job"](job="SALES_STAGE")
        fact = await tools["get_job"](job="FACT_SALES_LOAD")
        streams = await tools["list_job_streams"]()
    history = rerun["rerun_history"]
    assert len(history) == 2 and history[0]["status"] == "ERROR"
    assert history[-1]["status"] == "SUCCESSFUL" and history[-1]["rerun_type"] == "RERUN"
    assert stage["recovery_job"] == "AGT_LNX02#CLEAN_STAGE"
    assert stage["abend_prompt"].startswith("SALES_STAGE failed: free space in /data/stage")
    assert stage["engine_issues"][0]["type"] == "JOB_ERROR"
    assert stage["estimated_duration"] == "PT20M" and stage["elapsed"] == "PT19M3S"
    assert fact["elapsed_vs_estimate"] > 1 and fact["confidence_interval"] == "0%"
    assert fact["max_duration_exceeded"] is True
    assert {s["name"] for s in streams["items"] if s.get("late")} >= {"DWH_NIGHTLY"}


@pytest.mark.asyncio
async def test_the_guard_allows_health_status_reads_and_no_other_action(
    twsim: ThreadedSimulator,
) -> None:
    async with client_for(twsim) as c:
        stations = (await c.list_workstations()).items
        health = await c.workstation_health("name = 'AGT_WIN02'")
        assert len(health) == 1 and health[0].failed and "not linked" in (health[0].message or "")
        one = await c._fetch(f"/plan/workstation/{stations[0].id}/action/health-status", {})
        assert one["id"] == stations[0].id
        ws = stations[0].id
        refused = [
            ("PUT", f"{API}/plan/workstation/action/health-status"),
            ("GET", f"{API}/plan/workstation/action/link"),
            ("GET", f"{API}/plan/workstation/{ws}/action/unlink"),
            ("GET", f"{API}/plan/workstation/action/monitoring-configuration"),  # GET in the doc
            ("GET", f"{API}/plan/workstation/{ws}/action/health-status/../stop"),
            ("GET", f"{API}/plan/job/action/health-status"),
        ]
        for method, path in refused:
            with pytest.raises(TWSWriteRefused):
                await c._http.request(method, path)
    sent = {x["path"] for x in twsim.calls()}
    assert not [p for p in sent if "/action/" in p and not p.endswith("/action/health-status")]


@pytest.mark.asyncio
async def test_the_lenient_simulator_answers_as_before_and_the_client_reads_it() -> None:
    with run_in_thread("demo", strict=False) as sim:
        base = f"{sim.url}{API}"
        job = httpx.get(f"{base}/plan/job", auth=sim.auth, params={"limit": 1}).json()
        run_id = job["results"][0]["jobruns"][-1]["id"]
        as_json = httpx.get(
            f"{base}/plan/job/run/{run_id}/joblog",
            auth=sim.auth,
            headers={"Accept": "application/json"},
        )
        assert as_json.status_code == 200  # lenient: any Accept
        assert httpx.get(f"{base}/plan/job/count", auth=sim.auth).status_code == 200
        assert job["previous"] is None  # lenient: nulls for what is absent
        async with client_for(sim) as c:
            out = await build_tools(c)["get_job"](job="PAYROLL_EXTRACT")
            summary = await build_tools(c)["plan_summary"]()
        assert out["return_code"] == 12 and "notes" not in out
        assert summary["total_jobs"] > 200 and "notes" not in summary


@pytest.mark.asyncio
async def test_engine_extras_that_fail_leave_the_answer_with_a_note(
    twsim: ThreadedSimulator,
) -> None:
    twsim.set_faults(
        error_rate=1.0,
        error_status=400,
        error_paths=["/plan/job/issues", "/plan/workstation/action/health-status"],
    )
    async with client_for(twsim) as c:
        tools = build_tools(c)
        job = await tools["get_job"](job="PAYROLL_EXTRACT")
        stations = await tools["list_workstations"](problems_only=True)
    assert job["return_code"] == 12 and "engine_issues" not in job
    assert any(n.startswith("the engine's job issues could not be read") for n in job["notes"])
    assert {w["name"] for w in stations["items"]} == {"AGT_WIN02", "AGT_BKP01"}
    assert all("health" not in w for w in stations["items"])
    assert any(n.startswith("workstation health could not be read") for n in stations["notes"])
