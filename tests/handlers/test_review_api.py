"""Review that teaches, through a real Jupyter server, the real embedded memory store and the TWS
simulator: corrections, bulk decisions, the measured auditor, export as an eval case, re-check."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError

from resync_ext.agents.demos import JUDGE_DEMOS_ID
from resync_ext.agents.evidence import job_sentence
from resync_ext.audit.errors import DecisionConflict
from resync_ext.evaluation.cases import load_case
from resync_ext.evaluation.cli import main as resync_eval
from resync_ext.tws.simulator.testing import run_in_thread
from resync_ext.tws.tools import build_tools
from tests.support import flag_turns, wait_memory

pytestmark = pytest.mark.slow
AGENT = "tws-troubleshooter"
EVIDENCE = [
    {
        "tool": "get_job",
        "args": {"job": "PAYROLL_EXTRACT"},
        "summary": "PAYROLL_EXTRACT (stream DAILY_PAY, workstation AGT_LNX01) is ERROR (ABEND), "
        "return code 12, ended 23:01 CET on 23 Nov, 9 h ago (22:01 UTC).",
    },
    {
        "tool": "get_job_log",
        "args": {"job": "DAILY_PAY.PAYROLL_EXTRACT"},
        "summary": 'Log of PAYROLL_EXTRACT: "ORA-01017: invalid username/password; logon denied".',
    },
]
SUSPICIOUS = {"verdict": "suspicious", "confidence": 0.6, "reason": "the cause is not shown"}


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with run_in_thread("demo") as running:
        yield running


@pytest.fixture
def resync_config(resync_config: dict[str, Any], sim: Any) -> dict[str, Any]:
    return {**resync_config, "open_memory": True, "tws_url": sim.url}


async def post(jp_fetch: Any, *path: str, body: dict[str, Any]) -> Any:
    resp = await jp_fetch("resync", "api", *path, method="POST", body=json.dumps(body))
    return json.loads(resp.body)


async def get(jp_fetch: Any, *path: str, **params: str) -> Any:
    resp = await jp_fetch("resync", "api", *path, params=params or None)
    return json.loads(resp.body)


async def flag(services: Any, question: str, answer: str = "PAYROLL_EXTRACT abended.") -> str:
    [mid] = await flag_turns(
        services, [question], answer=answer, evidence=EVIDENCE, audit=SUSPICIOUS
    )
    return mid


async def test_a_correction_is_kept_beside_the_original_teaches_and_exports(
    jp_fetch: Any, resync_services: Any, tmp_path: Path
) -> None:
    services = resync_services
    store = await wait_memory(services)
    question = "Why did PAYROLL_EXTRACT abend last night?"
    wrong = "PAYROLL_EXTRACT ran out of disk space; rerun it."
    mid = await flag(services, question, wrong)
    fixed = (
        "PAYROLL_EXTRACT abended with return code 12: ORA-01017, the database refused its "
        "login (password=hunter22 was rotated). Fix the credentials, then rerun it."
    )
    item = await post(
        jp_fetch,
        "audit",
        "review",
        body={
            "memory_id": mid,
            "action": "correct",
            "answer": fixed,
            "wrong_claim": "ran out of disk space",
            "comment": "the log says ORA-01017; my password is hunter22",
        },
    )
    # Approved with a correction: both answers kept, secrets masked before storing or serving.
    assert item["status"] == "approved" and item["decided_by"] and item["decided_at"]
    assert "ORA-01017" in item["corrected_answer"] and "hunter22" not in item["corrected_answer"]
    assert "hunter22" not in item["comment"] and item["wrong_claim"] == "ran out of disk space"
    assert item["answer"] == wrong
    memory = await store.get(mid)
    assert memory.metadata.state == "approved" and memory.metadata.answer == wrong
    assert memory.metadata.review.corrected_answer == item["corrected_answer"]
    assert "ORA-01017" in memory.text and "disk space" not in memory.text  # retrieval: corrected
    found = await store.search("PAYROLL_EXTRACT abend", agent_id=AGENT, limit=3)
    assert any(m.id == mid and "ORA-01017" in m.text for m in found)
    # A correction without the answer is refused.
    with pytest.raises(HTTPClientError) as exc:
        await post(jp_fetch, "audit", "review", body={"memory_id": mid, "action": "correct"})
    assert exc.value.code == 400

    # Two newer approved turns on other subjects: "the newest two" would not pick the
    # correction; similarity to a question about the same failure does.
    for q, a in (
        ("Is AGT_WIN02 ok?", "AGT_WIN02 is unlinked; BACKUP_FILES waits for it."),
        ("Why is REINDEX_DB waiting?", "REINDEX_DB waits for the DB_LOCK resource."),
    ):
        other = await flag(services, q, a)
        await post(jp_fetch, "audit", "review", body={"memory_id": other, "action": "approve"})
    await store.settle()
    chosen = await get(
        jp_fetch, "audit", "demos", agent_id=AGENT, question="why did payroll_extract fail?"
    )
    assert chosen["demos"][0]["memory_id"] == mid
    assert chosen["demos"][0]["answer"] == item["corrected_answer"]

    # Exported as a resync-eval case that loads and runs (the evidence-echo scripted LM).
    resp = await jp_fetch("resync", "api", "audit", "review", mid, "export")
    assert resp.headers["Content-Type"].startswith("application/yaml")
    text = resp.body.decode()
    assert text.startswith(f"# Exported from review: memory {mid}")
    data = yaml.safe_load(text)
    jobs = {j["name"]: j for s in data["scenario"]["job_streams"] for j in s["jobs"]}
    assert jobs["PAYROLL_EXTRACT"]["status"] == "ABEND"
    assert jobs["PAYROLL_EXTRACT"]["return_code"] == 12
    assert "ORA-01017" in jobs["PAYROLL_EXTRACT"]["log"]
    assert data["expect"] == {
        "mentions": ["PAYROLL_EXTRACT"],
        "must_not": ["ran out of disk space"],
    }
    case_file = tmp_path / "cases" / "reviewed.yaml"
    case_file.parent.mkdir()
    case_file.write_text(text)
    case = load_case(case_file)
    assert case.question == question and case.agent == AGENT
    out = tmp_path / "eval.json"
    argv = [str(case_file), "--lm", "echo", "--json", str(out), "--data-dir", str(tmp_path / "d")]
    assert await asyncio.to_thread(resync_eval, argv) == 0
    [result] = json.loads(out.read_text())["cases"]
    assert result["passed"] and "get_job" in result["tools"]


async def test_bulk_decisions_apply_the_good_ids_and_report_the_bad(
    jp_fetch: Any, resync_services: Any
) -> None:
    services = resync_services
    a = await flag(services, "why did PAYROLL_EXTRACT fail?")
    b = await flag(services, "what broke PAYROLL_EXTRACT?")
    unknown = "00000000-0000-0000-0000-000000000000"
    out = await post(
        jp_fetch,
        "audit",
        "review",
        "bulk",
        body={"memory_ids": [a, unknown, b, "not-a-uuid"], "action": "approve", "comment": "ok"},
    )
    assert (out["applied"], out["failed"]) == (2, 2)
    by_id = {r["memory_id"]: r for r in out["results"]}
    assert by_id[a]["ok"] and by_id[a]["status"] == "approved" and by_id[b]["ok"]
    assert by_id[unknown] == {
        "memory_id": unknown,
        "ok": False,
        "status": None,
        "reason": "not_found",
        "message": by_id[unknown]["message"],
    }
    assert not by_id["not-a-uuid"]["ok"]
    for mid in (a, b):
        assert (await services.memory.get(mid)).metadata.state == "approved"
    # Turning them around in bulk is a conflict per id, and changes nothing.
    again = await post(
        jp_fetch, "audit", "review", "bulk", body={"memory_ids": [a], "action": "reject"}
    )
    assert again["results"][0]["reason"] == "conflict"
    assert (await services.memory.get(a)).metadata.state == "approved"
    with pytest.raises(HTTPClientError) as exc:
        await post(
            jp_fetch, "audit", "review", "bulk", body={"memory_ids": [], "action": "approve"}
        )
    assert exc.value.code == 400


async def test_metrics_measure_the_auditor_and_the_reviewers(
    jp_fetch: Any, resync_services: Any
) -> None:
    services = resync_services
    store = await wait_memory(services)
    flagged = [await flag(services, f"why did PAYROLL_EXTRACT fail (take {i})?") for i in range(6)]
    # alice: 4 rejected (the flag was right), 2 approved (it was not); bob agrees on 4 of 6.
    for i, mid in enumerate(flagged):
        await services.audit.decide(mid, "reject" if i < 4 else "approve", user="alice")
        bob = "reject" if i < 3 or i == 5 else "approve"
        try:
            await services.audit.decide(mid, bob, user="bob")
        except DecisionConflict:  # a disagreeing second opinion is kept, and reported as 409
            assert bob != ("reject" if i < 4 else "approve")
    # A spot check of an answer the auditor kept, found wrong: a miss (recall).
    kept = await store.add_turn(
        agent_id=AGENT, question="What failed tonight?", answer="Nothing.", evidence=EVIDENCE
    )
    ok = {"verdict": "ok", "confidence": 0.8, "reason": "supported"}
    await store.set_state(kept.id, "audited_ok", expect={"new"}, audit=ok)
    await post(
        jp_fetch,
        "audit",
        "review",
        body={"memory_id": kept.id, "action": "reject", "comment": "PAYROLL_EXTRACT abended"},
    )
    # That rejection carries a reason: it becomes a counter-example for the judge, soon.
    judge_demos = services.demos.path(JUDGE_DEMOS_ID)
    for _ in range(100):
        if judge_demos.is_file():
            break
        await asyncio.sleep(0.1)
    saved = json.loads(judge_demos.read_text())["predictors"]
    [demos] = [p["demos"] for p in saved.values()]
    assert [d["reason"] for d in demos] == ["PAYROLL_EXTRACT abended"]
    m = await get(jp_fetch, "audit", "metrics")
    assert m["auditor_precision"] == pytest.approx(4 / 6, abs=1e-3)
    assert m["auditor_recall"] == pytest.approx(4 / 5, abs=1e-3)
    assert m["auditor"]["tp"] == 4 and m["auditor"]["fp"] == 2 and m["auditor"]["fn"] == 1
    assert m["auditor_by_agent"][AGENT]["precision"] == m["auditor_precision"]
    assert len(m["auditor_by_day"]) == 1 and m["auditor_by_day"][0]["tp"] == 4
    # kappa over 6 items: p_o = 4/6, p_e = 4/6*4/6 + 2/6*2/6 = 5/9 -> (6/9-5/9)/(4/9) = 0.25
    assert m["kappa"] == {"value": 0.25, "items": 6, "reason": None}
    assert m["reviewers"]["alice"]["rejected"] == 4 and m["reviewers"]["bob"]["total"] == 6
    assert m["audit_reject_confidence"] == 0.9
    assert m["reject_precision"]["threshold"] == 0.9 and len(m["reject_precision"]["curve"]) > 3


async def test_recheck_sends_only_gets_and_reports_a_status_change(
    jp_fetch: Any, resync_services: Any, sim: Any
) -> None:
    services = resync_services
    store = await wait_memory(services)
    tools = build_tools(services.tws)
    job = await tools["get_job"](job="PAYROLL_EXTRACT")
    evidence = [
        {"tool": "get_job", "args": {"job": "PAYROLL_EXTRACT"}, "summary": job_sentence(job)}
    ]
    memory = await store.add_turn(
        agent_id=AGENT,
        question="Why did PAYROLL_EXTRACT fail?",
        answer="PAYROLL_EXTRACT abended.",
        evidence=evidence,
    )
    unchanged = await post(jp_fetch, "audit", "review", memory.id, "recheck", body={})
    assert unchanged["calls"] == 1 and unchanged["changes"] == []

    plan = sim.plan
    with plan.lock:  # meanwhile an operator fixed it: the job ran again and succeeded
        [target] = [j for j in plan.jobs if j.name == "PAYROLL_EXTRACT"]
        before = target.run.status
        target.run.status, target.run.return_code = "SUCC", 0
    try:
        # The client keeps a plan read for 10 s (its TTL cache): the change is seen once that
        # passes; here it is dropped at once rather than waited for.
        services.tws.cache.clear()
        sim.clear_calls()
        out = await post(jp_fetch, "audit", "review", memory.id, "recheck", body={})
        calls = sim.calls()
    finally:
        with plan.lock:
            target.run.status = before
    whats = {c["what"]: c for c in out["changes"]}
    status = whats["PAYROLL_EXTRACT: status changed"]
    assert "ABEND" in status["then"] and "SUCC" in status["now"]
    assert out["answered_at"] == memory.created_at and out["checked_at"]
    assert calls and {c["method"] for c in calls} == {"GET"}
