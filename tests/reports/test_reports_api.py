"""The audit report run for real by papermill, through a real server with seeded memories."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from tests.support import flag_turns, wait_memory

pytestmark = pytest.mark.slow

RUN_TIMEOUT_S = 100.0


@pytest.fixture
def resync_config(resync_config: dict[str, Any], twsim_demo: Any) -> dict[str, Any]:
    return {**resync_config, "open_memory": True, "tws_url": twsim_demo.url}


async def seed(services: Any) -> list[str]:
    """Three turns: one kept by the auditor, two flagged into one review batch."""
    store = await wait_memory(services, timeout=60)
    evidence = [
        {
            "tool": "get_job_log",
            "args": {"job": "PAYROLL_EXTRACT"},
            "summary": "ORA-01017: invalid username/password; logon denied",
        }
    ]
    kept = await store.add_turn(
        agent_id="tws-troubleshooter",
        question="why did PAYROLL_EXTRACT fail?",
        answer="It abended with ORA-01017: the PAYDB credentials were refused.",
        evidence=evidence,
    )
    audit_ok = {"verdict": "correct", "confidence": 0.9, "reason": "matches the log"}
    await store.set_state(kept.id, "audited_ok", expect={"new"}, audit=audit_ok)
    doubt = {"verdict": "suspicious", "confidence": 0.6, "reason": "no evidence for the rerun"}
    return await flag_turns(
        services,
        ("what blocks DAILY_PAY?", "is SALES_STAGE out of disk?"),
        answer="cp: error writing: No space left on device on /data/stage",
        evidence=[],
        audit=doubt,
    )


async def run_report(jp_fetch: Any, runner: Any, body: dict[str, Any] | None = None) -> str:
    resp = await jp_fetch("resync", "api", "reports", method="POST", body=json.dumps(body or {}))
    assert resp.code == 202
    started = json.loads(resp.body)
    assert set(started) == {"name", "status"} and started["status"] in ("queued", "running")
    final = await asyncio.wait_for(runner.wait(started["name"]), RUN_TIMEOUT_S)
    assert final["status"] == "done", final.get("error")
    return str(started["name"])


async def test_audit_report_runs_is_listed_and_served_in_both_formats(
    jp_fetch: Any, resync_services: Any, reports_runner: Any, jp_serverapp: Any
) -> None:
    flagged = await seed(resync_services)
    name = await run_report(jp_fetch, reports_runner, {"parameters": {"period_hours": 48}})

    listed = json.loads((await jp_fetch("resync", "api", "reports")).body)["reports"]
    assert [r["name"] for r in listed] == [name]
    assert listed[0]["status"] == "done" and set(listed[0]["formats"]) == {"html", "ipynb"}
    assert listed[0]["parameters"] == {"period_hours": 48} and listed[0]["duration_s"] > 0

    html_resp = await jp_fetch("resync", "api", "reports", name)  # html is the default
    assert html_resp.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in html_resp.headers["Content-Security-Policy"]
    html = html_resp.body.decode()
    assert "Resync audit report" in html and "3 memories" in html
    assert "ORA-01017" in html and "ENOSPC" in html and "PAYROLL_EXTRACT" in html
    assert "2 flagged item(s)" in html
    assert "data:image/png;base64" in html  # the charts are inline
    assert '<script src="http' not in html  # nothing fetched from a CDN when viewed
    token = jp_serverapp.identity_provider.token
    assert token not in html

    nb_resp = await jp_fetch("resync", "api", "reports", name, params={"format": "ipynb"})
    assert nb_resp.headers["Content-Type"] == "application/x-ipynb+json"
    assert token not in nb_resp.body.decode()
    nb = nbformat.reads(nb_resp.body.decode(), as_version=4)
    assert nb.metadata.papermill.parameters["period_hours"] == 48
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    data = json.loads((reports_runner.store.folder(name) / "data.json").read_text())
    assert data["pending_reviews"] == 2 and data["by_state"]["flagged"] == 2
    assert {"ORA-01017", "ENOSPC"} <= set(data["signatures"])

    # A reviewer decides one item; the next report says what changed since this one.
    body = json.dumps({"memory_id": flagged[0], "action": "approve"})
    await jp_fetch("resync", "api", "audit", "review", method="POST", body=body)
    second = await run_report(jp_fetch, reports_runner)
    html2 = (await jp_fetch("resync", "api", "reports", second)).body.decode()
    assert "Reviews pending: 2 → 1 (-1)" in html2
    assert "Memories approved: 0 → 1 (+1)" in html2
    listed = json.loads((await jp_fetch("resync", "api", "reports")).body)["reports"]
    assert [r["name"] for r in listed] == [second, name]


async def expect_status(call: Any, status: int) -> dict[str, Any]:
    with pytest.raises(HTTPClientError) as exc:
        await call
    assert exc.value.code == status
    assert exc.value.response is not None
    body: dict[str, Any] = json.loads(exc.value.response.body)
    assert set(body) == {"message", "reason"}
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"notebook": "../../etc/passwd"}, 400),
        ({"notebook": "/etc/passwd"}, 400),
        ({"notebook": "runbooks/../audit_report"}, 400),
        ({"notebook": "no_such_report"}, 404),
        ({"notebook": "audit_report", "extra": 1}, 400),
        ({"parameters": {"token": "abc"}}, 400),
        ({"parameters": {"tws_password": "abc"}}, 400),
        ({"parameters": {"server_url": "http://evil.example"}}, 400),
        ({"parameters": {"period_hours": {"nested": 1}}}, 400),
        ({"parameters": {"Bad-Name": 1}}, 400),
    ],
)
async def test_bad_report_requests_are_refused(
    jp_fetch: Any, reports_runner: Any, body: dict[str, Any], status: int
) -> None:
    call = jp_fetch("resync", "api", "reports", method="POST", body=json.dumps(body))
    await expect_status(call, status)
    assert json.loads((await jp_fetch("resync", "api", "reports")).body)["reports"] == []


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("..", 400),
        ("..%2F..%2Fetc%2Fpasswd", 400),
        ("%2Fetc%2Fpasswd", 400),
        ("audit_report", 400),
        ("audit_report-20261124T060000Z%00", 400),
        ("audit_report-20261124T060000Z", 404),
    ],
)
async def test_report_names_are_validated(
    jp_fetch: Any, reports_runner: Any, name: str, status: int
) -> None:
    await expect_status(jp_fetch("resync", "api", "reports", name), status)
    bad_format = jp_fetch("resync", "api", "reports", name, params={"format": "pdf"})
    await expect_status(bad_format, 400)
