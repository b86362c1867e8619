"""The simulator's HWA REST API v2 over real HTTP: shapes, paging, counts, logs, graph, auth."""

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


def jobs(client: httpx.Client, oql: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"{API}/plan/job", params={"oql": oql, **params})
    assert r.status_code == 200, r.text
    return r.json()


def one_job(client: httpx.Client, stream: str, name: str) -> dict[str, Any]:
    body = jobs(client, f"jobStreamName = '{stream}' AND name = '{name}'")
    assert body["count"] == 1, body
    return body["results"][0]


def test_engine_info_has_the_product_fields(client: httpx.Client) -> None:
    info = client.get(f"{API}/engine/info").json()
    assert info["displayVersion"] == "10.2.5"
    assert info["timezone"] == "Europe/Rome"
    assert {"fullVersion", "capabilities", "adminRoles", "licenseType", "locale"} <= set(info)


def test_job_query_returns_the_product_shape(client: httpx.Client) -> None:
    job = one_job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    assert job["flowNodeType"] == "JOB"
    assert job["workstation"] == "/AGT_LNX01"
    assert job["jobStreamWorkstation"] == "/MDM"
    assert job["lastRunCompositeStatus"]["status"] == "ABEND"
    assert job["lastRunCompositeStatus"]["error"] is True
    assert job["lastRunCommonStatus"] == "ERROR"
    run = job["jobruns"][-1]
    assert run["returnCode"] == 12
    assert run["commonStatus"] == "ERROR"
    assert run["lastInRerunChain"] is True
    assert run["timeInfo"]["actualStartTime"] == "2026-11-23T22:00:04Z"
    assert run["timeInfo"]["elapsedTime"] == "PT1M6S"
    assert job["jobDefinition"]["task"]["UNIX"]["taskString"].startswith("/opt/payroll/bin")
    assert "dependencies" not in job  # not filled in query results, as the product does
    assert job["dependenciesStats"]["numberOfDependencies"] == 0


def test_job_by_id_has_dependencies_with_derived_status(client: httpx.Client) -> None:
    calc = one_job(client, "DAILY_PAY", "PAYROLL_CALC")
    assert calc["lastRunCompositeStatus"]["substatus"] == "HOLD_WAITING_FOR_PREDECESSOR"
    full = client.get(f"{API}/plan/job/{calc['id']}").json()
    (dep,) = full["dependencies"]
    assert dep["dependencyType"] == "INTERNAL"
    assert dep["jobName"] == "PAYROLL_EXTRACT"
    assert dep["dependencyStatus"] == "UNSATISFIED"
    assert dep["predecessorStatus"]["status"] == "ABEND"
    assert full["dependenciesStats"]["numberOfUnresolvedDependencies"] == 1


def test_ids_are_stable_across_restarts(client: httpx.Client, twsim: ThreadedSimulator) -> None:
    before = one_job(client, "DAILY_PAY", "PAYROLL_EXTRACT")["id"]
    twsim.reset()
    assert one_job(client, "DAILY_PAY", "PAYROLL_EXTRACT")["id"] == before


def test_paging_follows_next_and_previous(client: httpx.Client) -> None:
    first = client.get(f"{API}/plan/job", params={"limit": 100}).json()
    total = first["count"]
    assert 250 <= total <= 400
    assert "previous" not in first  # no null: the document declares no field nullable
    seen = [j["id"] for j in first["results"]]
    page = first
    while page.get("next"):
        page = client.get(page["next"]).json()
        assert page["previous"]
        seen += [j["id"] for j in page["results"]]
    assert len(seen) == total == len(set(seen))
    offset = client.get(f"{API}/plan/job", params={"limit": 10, "offset": 20}).json()
    assert [j["id"] for j in offset["results"]] == seen[20:30]


def test_include_count_false_omits_the_total(client: httpx.Client) -> None:
    r = client.get(f"{API}/plan/job", params={"limit": 5}, headers={"Include-Count": "false"})
    assert "count" not in r.json()
    assert len(r.json()["results"]) == 5


def test_bad_paging_parameters_are_400(client: httpx.Client) -> None:
    r = client.get(f"{API}/plan/job", params={"limit": "ten"})
    assert r.status_code == 400
    assert "limit" in r.json()["message"]
    assert client.get(f"{API}/plan/job", params={"offset": -1}).status_code == 400


def test_unknown_plan_id_is_404(client: httpx.Client) -> None:
    assert client.get(f"{API}/plan/job", params={"plan_id": "202001010000"}).status_code == 404
    assert client.get(f"{API}/plan/job", params={"plan_id": "current"}).status_code == 200


def test_count_grouped_by_status_and_workstation(client: httpx.Client) -> None:
    every = {"plan_filter": "/@/@#/@/@.@"}  # required by the document
    body = client.get(
        f"{API}/plan/job/count", params={"grouping_filters": "status", **every}
    ).json()
    assert sum(body["groupedCount"].values()) == body["count"]
    errors = jobs(client, "commonStatus = 'ERROR'")["count"]
    assert body["groupedCount"]["ERROR"] == errors == 4  # three ABEND and one FAIL
    by_ws = client.get(
        f"{API}/plan/job/count", params={"grouping_filters": "workstation,status", **every}
    ).json()["groupedCount"]
    assert by_ws["/AGT_WIN02,READY"] == 3
    bad = client.get(f"{API}/plan/job/count", params={"grouping_filters": "colour", **every})
    assert bad.status_code == 400


def test_job_log_by_run_id_has_header_output_and_trailer(client: httpx.Client) -> None:
    job = one_job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    r = client.get(f"{API}/plan/job/run/{job['jobruns'][-1]['id']}/joblog")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert text.startswith("=" * 63)
    assert "= JOB       : AGT_LNX01#DAILY_PAY[(2300 11/23/26)" in text
    assert "ORA-01017: invalid username/password; logon denied" in text
    assert "= Exit Status           : 12" in text
    assert "= Elapsed Time (hh:mm:ss) : 00:01:06" in text
    only = client.get(
        f"{API}/plan/job/run/{job['jobruns'][-1]['id']}/joblog", params={"contentOnly": "true"}
    ).text
    assert not only.startswith("=") and "Exit Status" not in only
    lines = client.get(
        f"{API}/plan/job/run/{job['jobruns'][-1]['id']}/joblog",
        params={"from_line": 2, "to_line": 3},
    ).text
    assert lines.splitlines()[0].startswith("= JOB") and len(lines.splitlines()) == 2


def test_job_log_by_filter_and_missing_logs(client: httpx.Client) -> None:
    r = client.get(f"{API}/plan/job/joblog", params={"oql": "name = 'SALES_STAGE'"})
    assert "No space left on device" in r.text
    assert client.get(f"{API}/plan/job/joblog", params={"oql": "name = 'NOPE'"}).status_code == 404
    waiting = one_job(client, "DAILY_PAY", "PAYROLL_CALC")["jobruns"][-1]["id"]
    assert client.get(f"{API}/plan/job/run/{waiting}/joblog").status_code == 404
    assert client.get(f"{API}/plan/job/run/nope/joblog").status_code == 404


def test_failed_launch_log_carries_aws_messages(client: httpx.Client) -> None:
    job = one_job(client, "HR_SYNC", "AD_EXPORT")
    assert job["lastRunCompositeStatus"]["status"] == "FAIL"
    text = client.get(f"{API}/plan/job/run/{job['jobruns'][-1]['id']}/joblog").text
    assert "AWSBHT001E" in text and "AWSBDW009E" in text


def test_predecessors_and_successors_with_depth(client: httpx.Client) -> None:
    extract = one_job(client, "DAILY_PAY", "PAYROLL_EXTRACT")
    succ = client.get(f"{API}/plan/job/{extract['id']}/successors").json()
    assert [n["name"] for n in succ["results"]] == ["PAYROLL_CALC"]
    deep = client.get(f"{API}/plan/job/{extract['id']}/successors", params={"depth": 3}).json()
    names = [n["name"] for n in deep["results"]]
    assert names == ["PAYROLL_CALC", "PAYROLL_TAX", "PAYROLL_POST"]
    post = one_job(client, "DAILY_PAY", "PAYROLL_POST")
    after_post = client.get(f"{API}/plan/job/{post['id']}/successors").json()["results"]
    assert {(n["flowNodeType"], n["name"]) for n in after_post} == {
        ("JOB", "PAYROLL_BANKFILE"),
        ("JOBSTREAM", "PAYROLL_REPORTS"),
    }
    preds = client.get(f"{API}/plan/job/{post['id']}/predecessors", params={"depth": 9}).json()
    assert preds["count"] == 3
    assert client.get(f"{API}/plan/job/{post['id']}/predecessors?depth=0").status_code == 400


def test_job_stream_list_and_by_id(client: httpx.Client) -> None:
    body = client.get(f"{API}/plan/jobstream", params={"oql": "name = 'DAILY_PAY'"}).json()
    (stream,) = body["results"]
    assert stream["flowNodeType"] == "JOBSTREAM"
    assert stream["commonStatus"] == "ERROR"
    assert stream["compositeStatus"]["status"] == "ABEND"
    stats = stream["jobStreamStats"]
    assert stats["numberOfJob"] == 6
    assert stats["numberOfAbendedJob"] == 1
    assert stats["numberOfNotRunningJob"] == 5
    assert "jobs" not in stream
    full = client.get(f"{API}/plan/jobstream/{stream['id']}").json()
    assert [j["name"] for j in full["jobs"]][:2] == ["PAYROLL_EXTRACT", "PAYROLL_CALC"]
    reports = client.get(f"{API}/plan/jobstream", params={"oql": "name = 'PAYROLL_REPORTS'"})
    rep = client.get(f"{API}/plan/jobstream/{reports.json()['results'][0]['id']}").json()
    (dep,) = rep["dependencies"]
    assert dep["dependencyType"] == "EXTERNAL_JOB" and dep["satisfied"] is False
    preds = client.get(f"{API}/plan/jobstream/{rep['id']}/predecessors").json()
    assert [n["name"] for n in preds["results"]] == ["PAYROLL_POST"]
    assert client.get(f"{API}/plan/jobstream/nope").status_code == 404


def test_workstations_and_resources(client: httpx.Client) -> None:
    ws = client.get(f"{API}/plan/workstation").json()["results"]
    by_name = {w["name"]: w for w in ws}
    assert "LINKED" not in by_name["AGT_WIN02"]["activeStates"]
    assert {"LINKED", "JOBMAN_UP"} <= set(by_name["AGT_LNX01"]["activeStates"])
    assert by_name["AGT_BKP01"]["fence"] == 40
    assert by_name["AGT_LNX03"]["limit"] == 2
    assert by_name["MDM"]["hostType"] == "MASTER"
    one = client.get(f"{API}/plan/workstation/{by_name['AGT_WIN02']['id']}").json()
    assert one["name"] == "AGT_WIN02"
    unlinked = client.get(
        f"{API}/plan/workstation", params={"oql": "activeStates = 'UNLINKED'"}
    ).json()
    assert [w["name"] for w in unlinked["results"]] == ["AGT_WIN02"]
    res = client.get(f"{API}/plan/resource", params={"oql": "name = 'DB_SLOTS'"}).json()
    (slots,) = res["results"]
    assert (slots["quantity"], slots["quantityInUse"], slots["quantityAvailable"]) == (2, 2, 0)
    assert {h["job"] for h in slots["holders"]} == {"INVOICE_RUN", "POST_JOURNALS"}
    assert client.get(f"{API}/plan/resource/{slots['id']}").json()["name"] == "DB_SLOTS"
    assert client.get(f"{API}/plan/workstation/nope").status_code == 404


def test_unknown_ids_and_paths_are_404_json(client: httpx.Client) -> None:
    r = client.get(f"{API}/plan/job/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    assert r.json()["exceptionName"] and r.json()["messages"]
    assert client.get(f"{API}/plan/nothing").status_code == 404


def test_credentials(twsim: ThreadedSimulator) -> None:
    url = f"{twsim.url}{API}/engine/info"
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, auth=("demo", "nope"))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert "message" in wrong.json()
    bearer = {"Authorization": f"Bearer {twsim.api_key}"}
    assert httpx.get(url, headers=bearer).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
