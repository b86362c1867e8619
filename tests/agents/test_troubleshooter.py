"""The troubleshooter over the real simulator with DummyLM: exact tool trajectories and prompts."""

from __future__ import annotations

from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.runner import run_agent_streaming
from tests.agents.conftest import Events

ANSWER = "Cause: PAYROLL_EXTRACT failed with ORA-01017.\nNext steps:\n1. Check the credentials."


def _lm(answer: str = ANSWER) -> DummyLM:
    return DummyLM([{"answer": answer}], adapter=compact_adapter())


def _prompt(lm: DummyLM) -> tuple[str, str]:
    messages = lm.history[-1]["messages"]
    return messages[0]["content"], messages[-1]["content"]


@pytest.mark.asyncio
async def test_failed_job_reads_log_and_known_issue(
    registry: Any, tools: Any, events: Events
) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
    )
    assert result.tool_calls == [
        "list_workstations",
        "list_job_streams",
        "get_job",
        "get_job_log",
        "lookup_known_issue",
    ]
    calls, results = events.of("tool_call"), events.of("tool_result")
    assert [c["call_id"] for c in calls] == [r["call_id"] for r in results]
    assert all(r["ok"] for r in results)
    assert "".join(t["content"] for t in events.of("token")) == result.answer == ANSWER
    system, user = _prompt(lm)
    assert system.startswith("You help operators of HCL Workload Automation")
    assert "return code 12" in user and "ORA-01017: invalid username/password" in user
    assert "R1.db-credentials" in user and user.rstrip().endswith("Why did PAYROLL_EXTRACT fail?")
    summaries = {e["tool"]: e["summary"] for e in result.evidence}
    assert "ORA-01017" in summaries["get_job_log"]
    assert result.evidence[2]["args"] == {"job": "PAYROLL_EXTRACT"}


@pytest.mark.asyncio
async def test_held_job_is_traced_to_its_failed_predecessor(
    registry: Any, tools: Any, events: Events
) -> None:
    lm = _lm("Cause: PAYROLL_CALC waits for PAYROLL_EXTRACT, which abended.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(
        agent, lm, question="Why is PAYROLL_CALC not running?", on_event=events
    )
    assert result.tool_calls[2:6] == ["get_job", "get_dependencies", "get_job", "get_job_log"]
    log_call = next(e for e in result.evidence if e["tool"] == "get_job_log")
    assert log_call["args"] == {"job": "DAILY_PAY.PAYROLL_EXTRACT"}
    _, user = _prompt(lm)
    assert "HOLD_WAITING_FOR_PREDECESSOR" in user and "ORA-01017" in user
    assert "R4" in user


@pytest.mark.asyncio
async def test_job_waiting_for_unlinked_agent_shows_workstation(registry: Any, tools: Any) -> None:
    lm = _lm("Cause: AGT_WIN02 is unlinked.")
    agent = registry.create("tws-troubleshooter", tools)
    await run_agent_streaming(agent, lm, question="Why has BACKUP_FILES not started?")
    _, user = _prompt(lm)
    assert "READY_WAITING_FOR_AGENT" in user
    assert "Workstation AGT_WIN02" in user and "unlinked" in user


@pytest.mark.asyncio
async def test_question_without_names_starts_from_plan_summary(registry: Any, tools: Any) -> None:
    lm = _lm("Cause: four jobs failed.")
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question="what failed tonight?")
    assert result.tool_calls[0] == "plan_summary"
    _, user = _prompt(lm)
    assert "PAYROLL_EXTRACT" in user and "LOAD_SALES" in user


@pytest.mark.asyncio
async def test_secrets_in_question_and_context_never_reach_the_lm(
    registry: Any, tools: Any
) -> None:
    lm = _lm()
    agent = registry.create("tws-troubleshooter", tools)
    await run_agent_streaming(
        agent,
        lm,
        question="PAYROLL_EXTRACT failed, password is hunter2",
        context=["earlier: token=abcd1234efgh5678 was used"],
    )
    text = " ".join(m["content"] for m in lm.history[-1]["messages"])
    assert "hunter2" not in text and "abcd1234efgh5678" not in text


@pytest.mark.asyncio
async def test_tool_failure_is_reported_as_a_failed_result(
    registry: Any, tools: Any, events: Events
) -> None:
    async def broken(**_: Any) -> dict[str, Any]:
        raise ConnectionError("engine down")

    lm = _lm("Cause: the plan could not be read.")
    agent = registry.create("tws-troubleshooter", {**tools, "plan_summary": broken})
    result = await run_agent_streaming(agent, lm, question="what failed tonight?", on_event=events)
    assert events.of("tool_result")[0]["ok"] is False
    assert "engine down" in result.evidence[0]["summary"]
    assert "could not be read" in _prompt(lm)[1]


@pytest.mark.asyncio
async def test_react_mode_drives_the_same_tools(tools: Any, events: Events) -> None:
    import dspy

    from tests.agents.programs import load_troubleshooter

    agent = load_troubleshooter()(tools=tools, max_iters=3, mode="react")
    lm = DummyLM(
        [
            {
                "next_thought": "Read the job.",
                "next_tool_name": "get_job",
                "next_tool_args": {"job": "PAYROLL_EXTRACT"},
            },
            {"next_thought": "Enough.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "It abended.", "answer": "PAYROLL_EXTRACT abended with return code 12."},
        ]
    )
    with dspy.context(adapter=dspy.ChatAdapter()):
        result = await run_agent_streaming(
            agent, lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
        )
    assert result.tool_calls == ["get_job"]
    assert "return code 12" in result.evidence[0]["summary"]
    assert result.answer == "PAYROLL_EXTRACT abended with return code 12."
    assert "".join(t["content"] for t in events.of("token")) == result.answer
