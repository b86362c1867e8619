"""auto: plan-wide questions to the analyzer, questions about one object to the troubleshooter,
by the troubleshooter's own name resolution; the answer says which agent answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.errors import AgentConfigError
from resync_ext.agents.registry import AgentRegistry
from resync_ext.agents.routing import OBJECT, PLAN, route
from resync_ext.agents.runner import run_agent_streaming
from tests.agents.conftest import ROOT, Events

ANSWER = "Why it matters: fix the first failure first.\nNext steps:\n1. Read its log."


@pytest.mark.parametrize(
    "question",
    [
        "What failed tonight?",
        "what needs attention?",
        "Anything at risk?",
        "How is tonight going?",
        "Which critical jobs will be late?",
        "Give me the overnight summary, please",
        "Qu'est-ce qui a échoué cette nuit ?",
    ],
)
def test_a_question_that_names_nothing_is_about_the_plan(question: str) -> None:
    assert route(question).kind == PLAN


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Why did PAYROLL_EXTRACT fail last night?", "PAYROLL_EXTRACT"),
        ("is the DAILY_PAY stream late?", "DAILY_PAY"),
        ("Is AGT_WIN02 linked?", "AGT_WIN02"),
        ("Who holds DB_SLOTS?", "DB_SLOTS"),
        ("What is the payroll extract job waiting for?", "payroll extract"),
        ("Why did FIN_TAX_PROVISION fail?", "FIN_TAX_PROVISION"),  # not in any plan
        ("why did payroll_extract fail", "PAYROLL_EXTRACT"),  # typed in lower case
        ("Has CONFIRM_GL_CLOSE been answered?", "CONFIRM_GL_CLOSE"),
    ],
)
def test_a_question_that_names_an_object_is_about_that_object(question: str, name: str) -> None:
    where = route(question)
    assert where.kind == OBJECT and where.names[0] == name


def test_a_follow_up_that_points_back_is_about_the_conversations_subject() -> None:
    assert route("What does it block?", "PAYROLL_EXTRACT") == route("Why did PAYROLL_EXTRACT fail?")
    assert route("and its log?", "AGT_WIN02").names == ["AGT_WIN02"]
    # A plan-wide question after a job question is still about the plan.
    assert route("Anything at risk?", "PAYROLL_EXTRACT").kind == PLAN
    assert route("What does it block?").kind == PLAN  # nothing to point back at


def _lm() -> DummyLM:
    return DummyLM([{"answer": ANSWER}] * 4, adapter=compact_adapter())


@pytest.mark.asyncio
async def test_auto_hands_a_plan_question_to_the_analyzer(
    registry: AgentRegistry, tools: Any, events: Events
) -> None:
    agent = registry.create("auto", tools)
    result = await run_agent_streaming(
        agent, _lm(), question="What failed tonight?", on_event=events
    )
    assert result.prediction.agent == "tws-analyzer"
    assert result.tool_calls[0] == "plan_summary"
    assert result.answer.startswith("Failed (4):\n- DAILY_PAY.PAYROLL_EXTRACT (abended")
    assert "".join(t["content"] for t in events.of("token")) == result.answer


@pytest.mark.asyncio
async def test_auto_hands_a_job_question_to_the_troubleshooter(
    registry: AgentRegistry, tools: Any
) -> None:
    agent = registry.create("auto", tools)
    result = await run_agent_streaming(
        agent, _lm(), question="Why did PAYROLL_EXTRACT fail last night?"
    )
    assert result.prediction.agent == "tws-troubleshooter"
    assert "get_job_log" in result.tool_calls and "plan_summary" not in result.tool_calls
    assert result.answer.startswith("PAYROLL_EXTRACT (job stream DAILY_PAY")


@pytest.mark.asyncio
async def test_a_name_not_in_the_plan_is_answered_by_the_troubleshooter(
    registry: AgentRegistry, tools: Any
) -> None:
    agent = registry.create("auto", tools)
    result = await run_agent_streaming(agent, _lm(), question="Why did PAYROL_EXTRAKT fail?")
    assert result.prediction.agent == "tws-troubleshooter"
    assert "PAYROL_EXTRAKT is not in the current plan" in result.answer


@pytest.mark.asyncio
async def test_a_resource_is_answered_as_a_resource_not_as_a_missing_name(
    registry: AgentRegistry, tools: Any
) -> None:
    agent = registry.create("auto", tools)
    result = await run_agent_streaming(agent, _lm(), question="Who holds DB_SLOTS?")
    assert result.prediction.agent == "tws-troubleshooter"
    assert result.answer.startswith("Resource DB_SLOTS: 0 of ")
    assert "not in the current plan" not in result.answer


def _config(tmp_path: Path, routes: dict[str, str]) -> Path:
    data = json.loads((ROOT / "config" / "runtime.json").read_text())
    auto = next(a for a in data["agents"] if a["id"] == "auto")
    auto["routes"] = routes
    for a in data["agents"]:
        a["program"] = (
            str(ROOT / a["program"].rpartition(":")[0]) + ":" + a["program"].rpartition(":")[2]
        )
    data["judge"]["program"] = str(ROOT / "agents" / "judge.py") + ":Judge"
    path = tmp_path / "runtime.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "routes", [{"plan": "no-such-agent"}, {"plan": "auto"}], ids=["unknown", "itself"]
)
def test_a_route_to_an_agent_that_does_not_answer_is_refused_at_load(
    tmp_path: Path, routes: dict[str, str]
) -> None:
    registry = AgentRegistry(_config(tmp_path, routes))
    with pytest.raises(AgentConfigError, match="routes 'plan'"):
        registry.load()


@pytest.mark.asyncio
async def test_the_final_frame_names_the_agent_that_answered(tools: Any, sim: Any) -> None:
    from resync_ext.chat.turns import TurnService

    lm = _lm()
    registry = AgentRegistry(ROOT / "config" / "runtime.json", lm_factory=lambda _model: lm)
    registry.load()
    service = TurnService(registry=registry, tools=lambda: tools, tws=None)
    frames: list[Any] = []

    async def send(frame: Any) -> None:
        frames.append(frame)

    plan = await service.run("auto", "t1", "How is tonight going?", send)
    job = await service.run("auto", "t2", "Is AGT_WIN02 linked?", send)
    assert (plan.agent, job.agent) == ("tws-analyzer", "tws-troubleshooter")
    assert plan.timing.agent_id == "auto"  # the socket's agent, for metrics
