"""The audit report states how good the auditor is, from the decisions reviewers made (issue 19):
precision, recall and the reviewers' agreement, run for real by papermill through a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from resync_ext.audit.errors import DecisionConflict
from tests.support import flag_turns, wait_memory

pytestmark = pytest.mark.slow
RUN_TIMEOUT_S = 100.0
EVIDENCE = [
    {
        "tool": "get_job_log",
        "args": {"job": "PAYROLL_EXTRACT"},
        "summary": "ORA-01017: invalid username/password; logon denied",
    }
]


@pytest.fixture
def resync_config(resync_config: dict[str, Any], twsim_demo: Any) -> dict[str, Any]:
    return {**resync_config, "open_memory": True, "tws_url": twsim_demo.url}


async def test_the_report_shows_the_auditors_precision_recall_and_kappa(
    jp_fetch: Any, resync_services: Any, reports_runner: Any
) -> None:
    services = resync_services
    store = await wait_memory(services, timeout=60)
    doubt = {"verdict": "suspicious", "confidence": 0.6, "reason": "the cause is not shown"}
    flagged = await flag_turns(
        services,
        [f"why did PAYROLL_EXTRACT fail ({i})?" for i in range(5)],
        answer="PAYROLL_EXTRACT ran out of disk space.",
        evidence=EVIDENCE,
        audit=doubt,
    )
    # alice rejects 3 and approves 2; bob, second, agrees on all but the last.
    for i, mid in enumerate(flagged):
        await services.audit.decide(mid, "reject" if i < 3 else "approve", user="alice")
        try:
            await services.audit.decide(
                mid, "reject" if i in (0, 1, 2, 4) else "approve", user="bob"
            )
        except DecisionConflict:
            assert i == 4
    kept = await store.add_turn(
        agent_id="tws-troubleshooter",
        question="What failed tonight?",
        answer="Nothing failed.",
        evidence=EVIDENCE,
    )
    ok = {"verdict": "ok", "confidence": 0.8, "reason": "supported"}
    await store.set_state(kept.id, "audited_ok", expect={"new"}, audit=ok)
    await services.audit.decide(kept.id, "reject", user="alice", comment="PAYROLL_EXTRACT failed")

    resp = await jp_fetch("resync", "api", "reports", method="POST", body=json.dumps({}))
    name = json.loads(resp.body)["name"]
    final = await asyncio.wait_for(reports_runner.wait(name), RUN_TIMEOUT_S)
    assert final["status"] == "done", final.get("error")
    html = (await jp_fetch("resync", "api", "reports", name)).body.decode()
    assert "How good is the auditor" in html
    # precision 3/5, recall 3/4; kappa: p_o 4/5, p_e 3/5*4/5 + 2/5*1/5 = 14/25 -> 6/11 = 0.55
    assert "0.60 — 3 of 5 flagged answers were found wrong" in html
    assert "0.75 — 3 of 4 wrong answers reviewers found had been flagged" in html
    assert "0.55 over 5 item(s) decided by two reviewers" in html
    assert "agent tws-troubleshooter" in html
