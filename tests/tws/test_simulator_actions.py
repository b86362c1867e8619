"""Actions really change the plan, and waiting jobs are re-derived after them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from resync_ext.tws.simulator.testing import ThreadedSimulator

API = "/twsd/api/v2"


@pytest.fixture
def client(twsim: ThreadedSimulator) -> httpx.Client:
    with httpx.Client(base_url=twsim.url, auth=twsim.auth, timeout=10) as c:
        yield c  # type: ignore[misc]


def job(client: httpx.Client, stream: str, name: str) -> dict[str, Any]:
    oql = f"jobStreamName = '{stream}' AND name = '{name}'"
    (found,) = client.get(f"{API}/plan/job", params={"oql": oql}).json()["results"]
    return found


def put(client: httpx.Client, path: str, body: Any = None, **params: Any) -> httpx.Response:
    return client.put(f"{API}{path}", json=body or {}, params=params)


def state(j: dict[str, Any]) -> tuple[str, str | None]:
    return j["lastRunCompositeStatus"]["status"], j["lastRunCompositeStatus"].get("substatus")


def test_rerun_after_fix_releases_the_successors(client: httpx.Client) -> None:
    extract = job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    r = put(client, f"/plan/job/run/{extract['jobruns'][-1]['id']}/action/rerun")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id", "url"}
    after = job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    assert len(after["jobruns"]) == 2
    assert after["jobruns"][-1]["rerunType"] == "RERUN"
    assert state(after) == ("SUCC", None)  # the demo's scenario says the rerun succeeds
    assert after["jobStatusFlags"]["restarted"] is True
    assert state(job(client, "DAILY_PAY", "PAYROLL_CALC")) == ("READY", None)
    new_log = client.get(f"{API}/plan/job/run/{after['jobruns'][-1]['id']}/joblog").text
    assert "completed successfully" in new_log
    old_log = client.get(f"{API}/plan/job/run/{extract['jobruns'][-1]['id']}/joblog").text
    assert "ORA-01017" in old_log
    # a rerun of a superseded run, or of a job that has not finished, is refused
    assert (
        put(client, f"/plan/job/run/{extract['jobruns'][-1]['id']}/action/rerun").status_code == 400
    )
    calc = job(client, "DAILY_PAY", "PAYROLL_CALC")
    assert put(client, f"/plan/job/run/{calc['jobruns'][-1]['id']}/action/rerun").status_code == 400


def test_hold_and_release(client: httpx.Client) -> None:
    target = job(client, "WIN_REPORTS", "EXPORT_HR_XLS")
    assert put(client, f"/plan/job/{target['id']}/action/hold").status_code == 200
    held = job(client, "WIN_REPORTS", "EXPORT_HR_XLS")
    assert state(held) == ("HOLD", "HOLD_PRIORITY_ZERO")
    assert held["lastRunCommonStatus"] == "HELD" and held["priority"] == 0
    assert put(client, f"/plan/job/{target['id']}/action/release").status_code == 200
    assert state(job(client, "WIN_REPORTS", "EXPORT_HR_XLS")) == (
        "READY",
        "READY_WAITING_FOR_AGENT",
    )
    done = job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    r = put(client, f"/plan/job/{done['id']}/action/hold")
    assert r.status_code == 400 and "ABEND" in r.json()["message"]


def test_cancel_releases_successors_and_kill_abends(client: httpx.Client) -> None:
    merge = job(client, "CRM_NIGHTLY", "CUSTOMER_MERGE")
    assert put(client, f"/plan/job/{merge['id']}/action/cancel").status_code == 200
    assert state(job(client, "CRM_NIGHTLY", "CUSTOMER_MERGE"))[0] == "CANCL"
    assert state(job(client, "CRM_NIGHTLY", "SEGMENTS")) == ("READY", None)
    fact = job(client, "DWH_NIGHTLY", "FACT_SALES_LOAD")
    assert put(client, f"/plan/job/{fact['id']}/action/kill").status_code == 200
    killed = job(client, "DWH_NIGHTLY", "FACT_SALES_LOAD")
    assert state(killed)[0] == "ABEND" and killed["jobruns"][-1]["timeInfo"]["actualEndTime"]
    assert put(client, f"/plan/job/{fact['id']}/action/kill").status_code == 400


def test_confirm_and_prompt_reply(client: httpx.Client) -> None:
    check = job(client, "AUDIT_DAILY", "MANUAL_CHECK")
    assert state(check)[0] == "PEND"
    assert put(client, f"/plan/job/{check['id']}/action/confirm-succ").status_code == 200
    assert state(job(client, "AUDIT_DAILY", "MANUAL_CHECK"))[0] == "SUCC"
    assert state(job(client, "AUDIT_DAILY", "AUDIT_ARCHIVE")) == ("READY", None)
    close = client.get(f"{API}/plan/job/{job(client, 'FIN_MONTHEND', 'CLOSE_PERIOD')['id']}")
    (prompt,) = [d for d in close.json()["dependencies"] if d["dependencyType"] == "PROMPT"]
    assert prompt["promptStatus"] == "ASKED"
    bad = put(client, f"/plan/prompt/{prompt['id']}/action/reply", {"answer": "yes"})
    assert bad.status_code == 400
    ok = put(client, f"/plan/prompt/{prompt['id']}/action/reply", {"answer": True})
    assert ok.status_code == 200
    assert state(job(client, "FIN_MONTHEND", "CLOSE_PERIOD")) == ("READY", None)


def test_workstation_actions_change_waiting_jobs(client: httpx.Client) -> None:
    ws = {w["name"]: w for w in client.get(f"{API}/plan/workstation").json()["results"]}
    assert put(client, f"/plan/workstation/{ws['AGT_WIN02']['id']}/action/link").status_code == 200
    assert state(job(client, "WIN_REPORTS", "EXPORT_SALES_XLS")) == ("READY", None)
    fence = f"/plan/workstation/{ws['AGT_BKP01']['id']}/action/update-fence"
    assert put(client, fence, priority=0).status_code == 200
    assert state(job(client, "BACKUP_NIGHTLY", "BKP_FILES_HOME")) == ("READY", None)
    limit = f"/plan/workstation/{ws['AGT_LNX03']['id']}/action/update-limit"
    assert put(client, limit, limit="many").status_code == 400
    assert put(client, limit, limit=10).status_code == 200
    assert state(job(client, "ETL_MARKETING", "LOAD_SEGMENTS")) == ("READY", None)


def test_actions_by_filter(client: httpx.Client) -> None:
    r = put(client, "/plan/job/action/hold", oql="workstation = 'AGT_WIN02' AND status = 'READY'")
    body = r.json()
    assert len(body["successfulResourceResponses"]) == 3
    assert body["failedResourceResponses"] == []
    held = client.get(f"{API}/plan/job", params={"oql": "commonStatus = 'HELD'"}).json()
    assert held["count"] == 4  # the three just held and DB_MAINT.REINDEX_ORDERS
    capped = put(client, "/plan/job/action/release", oql="status = 'HOLD'", max_object_affected=2)
    assert capped.status_code == 400


def test_actions_need_json_and_known_ids(client: httpx.Client) -> None:
    target = job(client, "WIN_REPORTS", "EXPORT_HR_XLS")
    r = client.put(f"{API}/plan/job/{target['id']}/action/hold", content=b"")
    assert r.status_code == 415
    assert put(client, "/plan/job/nope/action/hold").status_code == 404
    assert put(client, f"/plan/job/{target['id']}/action/explode").status_code == 404


def test_reset_restores_the_scenario(client: httpx.Client, twsim: ThreadedSimulator) -> None:
    merge = job(client, "CRM_NIGHTLY", "CUSTOMER_MERGE")
    put(client, f"/plan/job/{merge['id']}/action/cancel")
    twsim.reset()
    assert state(job(client, "CRM_NIGHTLY", "CUSTOMER_MERGE")) == (
        "READY",
        "READY_WAITING_FOR_RESOURCES",
    )
