"""The provider path: build_lm with an OpenAI-compatible api_base, streamed through the runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.runner import make_judge, run_agent_streaming
from resync_ext.llm import LMConfigError, build_lm
from tests.agents.conftest import Events
from tests.agents.programs import load_judge
from tests.llm.openai_stub import OpenAIStub

ANSWER = (
    "Cause: PAYROLL_EXTRACT abended with ORA-01017, the database refused its password.\n"
    "Next steps:\n1. Check the credentials the job uses.\n2. Rerun after fixing them."
)


@pytest.fixture
def stub() -> Any:
    with OpenAIStub(reply=lambda body: ANSWER) as running:
        yield running


def _lm(stub: OpenAIStub, tmp_path: Path) -> Any:
    return build_lm(
        model="openai/stub-model",
        api_base=stub.base_url,
        api_key="sk-test-key",
        data_dir=tmp_path,
        cache=False,
        max_tokens=256,
        timeout_s=10,
    )


@pytest.mark.asyncio
async def test_agent_answer_streams_from_a_provider(
    stub: OpenAIStub, tmp_path: Path, registry: Any, unknown_tools: Any, events: Events
) -> None:
    lm = _lm(stub, tmp_path)
    # No known issue matches the failure: the provider's model explains it (else code would).
    agent = registry.create("tws-troubleshooter", unknown_tools)
    result = await run_agent_streaming(
        agent, lm, question="Why did PAYROLL_EXTRACT fail?", on_event=events
    )
    tokens = [t["content"] for t in events.of("token")]
    # Streamed in pieces, not as one block: the facts line by line as soon as code wrote them,
    # then the provider's explanation sentence by sentence once the grounding guard passed it.
    assert len(tokens) > 6
    assert "".join(tokens) == result.answer and result.answer.endswith(ANSWER)
    assert tokens[0].startswith("PAYROLL_EXTRACT (job stream DAILY_PAY")
    body = stub.bodies()[-1]
    assert body["stream"] is True and body["model"] == "stub-model"
    assert body["temperature"] == 0.0
    user = body["messages"][-1]["content"]
    assert "ORA-01017" in user and "Why did PAYROLL_EXTRACT fail?" in user
    assert stub.requests[-1]["headers"].get("Authorization") == "Bearer sk-test-key"


@pytest.mark.asyncio
async def test_judge_over_a_provider_parses_its_json(tmp_path: Path) -> None:
    verdict = {"verdict": "suspicious", "confidence": 0.6, "reason": "No log was read."}
    with OpenAIStub(reply=lambda body: json.dumps(verdict)) as stub:
        judge = make_judge(load_judge()(), _lm(stub, tmp_path))
        out = await judge(question="q", answer="It failed.", evidence=[])
        body = stub.bodies()[-1]
    assert out == verdict
    assert body.get("stream") in (None, False)
    # An unknown model gets no schema (DSPy cannot know it honours one); the prompt asks for
    # the fields in order, verdict first.
    prompt = body["messages"][-1]["content"]
    assert prompt.index("`verdict`") < prompt.index("`confidence`") < prompt.index("`reason`")


@pytest.mark.asyncio
async def test_provider_down_raises_an_lm_error(stub: OpenAIStub, tmp_path: Path) -> None:
    import dspy

    stub.status = 503
    lm = build_lm(
        model="openai/stub-model",
        api_base=stub.base_url,
        api_key="k",
        data_dir=tmp_path,
        cache=False,
        timeout_s=5,
    )
    lm.num_retries = 0
    with pytest.raises(dspy.LMError):
        await make_judge(load_judge()(), lm)(question="q", answer="a", evidence=[])


def test_bad_model_ids_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(LMConfigError):
        build_lm(model="gpt4", data_dir=tmp_path)
    with pytest.raises(LMConfigError):
        build_lm(model="local", temperature=3.0, data_dir=tmp_path)
