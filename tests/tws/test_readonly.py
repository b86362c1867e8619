"""The read-only guard: no code path of the product can send a write to TWS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from resync_ext.tws.client import TWSClient
from resync_ext.tws.errors import TWSWriteRefused
from resync_ext.tws.simulator.testing import ThreadedSimulator
from resync_ext.tws.tools import TOOL_NAMES, build_tools

API = "/twsd/api/v2"


async def _job_id(sim: ThreadedSimulator, name: str = "CUSTOMER_MERGE") -> str:
    async with TWSClient(sim.url, user=sim.user, password=sim.password) as c:
        job = (await c.list_jobs(f"name = '{name}'")).items[0]
    sim.clear_calls()
    return job.id or ""


@pytest.mark.asyncio
async def test_the_write_endpoint_exists_so_the_guard_is_what_stops_it(
    twsim: ThreadedSimulator,
) -> None:
    job_id = await _job_id(twsim)
    async with httpx.AsyncClient(base_url=twsim.url, auth=twsim.auth) as raw:
        resp = await raw.put(f"{API}/plan/job/{job_id}/action/hold", json={})
    assert resp.status_code == 200
    assert [c["method"] for c in twsim.calls()] == ["PUT"]


@pytest.mark.asyncio
async def test_every_way_to_write_is_refused_before_sending(twsim: ThreadedSimulator) -> None:
    job_id = await _job_id(twsim)
    action = f"{API}/plan/job/{job_id}/action/hold"
    other_host = twsim.url.replace("127.0.0.1", "localhost") + f"{API}/engine/info"
    async with TWSClient(twsim.url, user=twsim.user, password=twsim.password) as c:
        http = c._http
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: http.post(action, json={}),
            lambda: http.put(action, json={}),
            lambda: http.patch(f"{API}/plan/job/{job_id}", json={"priority": 0}),
            lambda: http.delete(f"{API}/plan/job/{job_id}"),
            lambda: http.request("PUT", f"{API}/plan/job/run/{job_id}/action/rerun", json={}),
            lambda: http.request("POST", f"{API}/plan/job/submit-ad-hoc-job", json={}),
            lambda: http.get(action),  # a GET of an action path
            lambda: http.get(f"{API}/plan/workstation/x/action/link"),
            lambda: http.get(f"{API}/model/jobdefinition"),  # outside the allow-list
            lambda: http.get(other_host),  # another origin
            lambda: http.request("GET", f"{API}/plan/job", content=b"{}"),  # a body
            lambda: http.send(http.build_request("PUT", action, json={})),
        ]
        for attempt in attempts:
            with pytest.raises(TWSWriteRefused):
                await attempt()
    assert twsim.calls() == []


@pytest.mark.asyncio
async def test_stream_post_is_refused_too(twsim: ThreadedSimulator) -> None:
    async with TWSClient(twsim.url, user=twsim.user, password=twsim.password) as c:
        with pytest.raises(TWSWriteRefused):
            async with c._http.stream("POST", f"{API}/plan/job/action/rerun", json={}):
                pass
    assert twsim.calls() == []


@pytest.mark.asyncio
async def test_all_tools_and_reads_send_only_gets(twsim: ThreadedSimulator) -> None:
    async with TWSClient(twsim.url, user=twsim.user, password=twsim.password) as c:
        tools = build_tools(c)
        args: dict[str, list[dict[str, Any]]] = {
            "plan_summary": [{}],
            "list_jobs": [
                {},
                {"status": "ABEND"},
                {"stream": "DAILY*", "workstation": "AGT_LNX01"},
            ],
            "get_job": [{"job": "payroll extract"}, {"job": "CUSTOMER_MERGE"}],
            "get_job_log": [{"job": "PAYROLL_EXTRACT"}, {"job": "AD_EXPORT"}],
            "get_dependencies": [{"job": "PAYROLL_CALC", "depth": 3}],
            "list_job_streams": [{}, {"status": "ERROR"}],
            "list_workstations": [{}, {"problems_only": True}],
            "list_resources": [{}, {"exhausted_only": True}],
            "lookup_known_issue": [{"text": "ORA-01017"}],
        }
        assert set(args) == set(TOOL_NAMES)
        for name, calls in args.items():
            for kw in calls:
                out = await tools[name](**kw)
                assert "error" not in out or out["error"]["kind"] == "ambiguous", (name, out)
        await c.ping()
    calls = twsim.calls()
    assert len(calls) > 10
    assert {x["method"] for x in calls} == {"GET"}
    # The one read under /action/ (GET in the document) is a workstation's health status.
    actions = [x["path"] for x in calls if "/action/" in x["path"]]
    assert actions and all(p.endswith("/plan/workstation/action/health-status") for p in actions)
    assert all(x["status"] == 200 for x in calls if "/action/" in x["path"])
