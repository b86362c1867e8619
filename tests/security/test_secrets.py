"""Secrets in job logs, commands and questions never leave masked: not in a memory (API or raw
files), a server log line, an LM request, a review batch, a chat frame or a report.

One cycle runs against a real server over SECRET_SCENARIO (tests/security/conftest.py): chat
turns whose questions carry passwords, tokens and keys about jobs whose logs carry more, then an
audit pass judged by the loopback LM; each test then searches one place for every secret, beside
a positive control showing that the place does hold the (masked) material.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.llm.openai_stub import OpenAIStub
from tests.security.conftest import SECRETS, ChatSocket, JupyterProcess

pytestmark = pytest.mark.slow

QUESTIONS = {
    "q1": f"Why did PAYROLL_EXTRACT fail? I reset password={SECRETS['question_password']} "
    "yesterday.",
    "q2": f"My GitHub token {SECRETS['question_token']} and api key {SECRETS['question_key']} "
    "work, so why did DAILY_PAY stop?",
    "q3": f"The connect string is PAYROLL_APP/{SECRETS['tns_password']}@PAYDB: why does "
    "PAYROLL_EXTRACT get ORA-01017?",
    "q4": f"curl with Authorization: Bearer {SECRETS['bearer']} works, so why did "
    "PAYROLL_EXTRACT abend?",
}
AUDIT_WAIT_S = 60.0


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def _files_with(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(scope="module")
def cycle(secret_server: JupyterProcess) -> dict[str, Any]:
    """Run the chat turns and an audit pass once; return what the client saw."""
    chat = ChatSocket(secret_server)
    try:
        frames = {tid: chat.turn(tid, q) for tid, q in QUESTIONS.items()}
    finally:
        chat.close()
    remembered = {f[-1]["memory_id"] for f in frames.values() if f[-1]["type"] == "final"}
    remembered.discard(None)
    runs = []
    batches: list[dict[str, Any]] = []
    deadline = time.monotonic() + AUDIT_WAIT_S
    while time.monotonic() < deadline:
        runs.append(secret_server.post("/resync/api/audit/run", content=b"").json())
        listed = secret_server.get("/resync/api/audit/flags").json()["batches"]
        batches = [secret_server.get(f"/resync/api/audit/flags/{b['name']}").json() for b in listed]
        flagged = {item["memory_id"] for b in batches for item in b["items"]}
        if remembered <= flagged:
            break
        time.sleep(1.0)
    return {"frames": frames, "remembered": remembered, "runs": runs, "batches": batches}


def test_the_cycle_answered_remembered_and_flagged(cycle: dict[str, Any]) -> None:
    for tid, frames in cycle["frames"].items():
        assert frames[-1]["type"] == "final", (tid, frames[-1])
    assert len(cycle["remembered"]) == len(QUESTIONS)
    flagged = {item["memory_id"] for b in cycle["batches"] for item in b["items"]}
    assert cycle["remembered"] <= flagged, "every turn was judged 'suspicious' and flagged"
    tools = {f["tool"] for fs in cycle["frames"].values() for f in fs if f["type"] == "tool_call"}
    assert "get_job_log" in tools, "the secret-laden log was read"


def test_no_secret_in_any_chat_frame(cycle: dict[str, Any]) -> None:
    # Questions are the user's own text; what comes back (tool results, evidence, answer) is
    # built from the engine's data and must carry none of the secrets.
    text = json.dumps(cycle["frames"])
    assert _leaks(text) == []
    assert "PAYROLL_APP/***@PAYDB" in text, "the log's secret lines came back, masked"


def test_no_secret_reaches_the_lm(cycle: dict[str, Any], lm_stub: OpenAIStub) -> None:
    bodies = json.dumps(lm_stub.bodies())
    assert _leaks(bodies) == []
    # The LM key goes where it belongs, the Authorization header, and nowhere else.
    assert any(SECRETS["lm_api_key"] in json.dumps(r["headers"]) for r in list(lm_stub.requests)), (
        "the configured LM key was used"
    )
    assert "PAYROLL_APP/***@PAYDB" in bodies, "the log's secret lines reached the model, masked"
    judged = [b for b in lm_stub.bodies() if "verdict" in json.dumps(b["messages"][0])]
    assert judged, "the auditor's judge was asked"
    assert _leaks(json.dumps(judged)) == []


def test_no_secret_in_the_server_log(cycle: dict[str, Any], secret_server: JupyterProcess) -> None:
    log = secret_server.log_text()
    assert "chat turn q1" in log, "the turn's log line is there to search"
    assert _leaks(log) == []


def test_no_secret_on_disk(cycle: dict[str, Any], secret_server: JupyterProcess) -> None:
    root = secret_server.data_dir
    assert _files_with(root, b"ORA-01017"), "memories and batches are on disk to search"
    for name, value in SECRETS.items():
        assert _files_with(root, value.encode()) == [], name


def test_no_secret_in_a_review_batch(cycle: dict[str, Any]) -> None:
    assert cycle["batches"] and all(b["items"] for b in cycle["batches"])
    text = json.dumps(cycle["batches"])
    assert "PAYROLL_APP/***@PAYDB" in text
    assert _leaks(text) == []


def test_no_secret_through_the_memories_api(
    cycle: dict[str, Any], secret_server: JupyterProcess
) -> None:
    listed = secret_server.get("/resync/api/memories", params={"limit": 500}).json()["memories"]
    assert {m["id"] for m in listed} >= cycle["remembered"]
    searched = secret_server.get(
        "/resync/api/memories", params={"query": "PAYROLL_EXTRACT ORA-01017 password"}
    ).json()["memories"]
    assert searched
    one = secret_server.get(f"/resync/api/memories/{next(iter(cycle['remembered']))}").json()
    assert _leaks(json.dumps([listed, searched, one])) == []


def test_no_secret_in_a_report(cycle: dict[str, Any], secret_server: JupyterProcess) -> None:
    status = secret_server.run_report()
    assert status.get("status") == "done", status
    name = status["name"]
    for fmt in ("html", "ipynb"):
        body = secret_server.get(f"/resync/api/reports/{name}", params={"format": fmt}).text
        assert "PAYROLL_APP/***@PAYDB" in body, f"the {fmt} report shows the masked evidence"
        assert _leaks(body) == [], fmt
