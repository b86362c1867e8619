"""A turn looks up past turns while its tools read TWS, and answers even when the lookup fails."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dspy
import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.runner import run_agent_streaming
from resync_ext.chat.turns import TurnService
from resync_ext.memory.models import Memory, MemoryMetadata

pytestmark = pytest.mark.asyncio

ANSWER = "Cause: PAYROLL_EXTRACT failed with ORA-01017.\nNext steps:\n1. Check the credentials."
PAST = "Q: Why did PAYROLL_EXTRACT fail last week?\nA: The DB password had expired."


def _memory(text: str, memory_id: str = "0b7e4d3c-58a9-4a39-9c0e-4f4a8f0e1a11") -> Memory:
    meta = MemoryMetadata(agent_id="tws-troubleshooter", question="q", answer="a")
    return Memory(id=memory_id, text=text, created_at="2026-11-24T02:00:00+00:00", metadata=meta)


class Store:
    """The memory store at the turn's edge: search waits for ``gate`` (when given) or fails."""

    def __init__(self, gate: asyncio.Event | None = None, fail: bool = False) -> None:
        self.gate, self.fail = gate, fail
        self.added: list[dict[str, Any]] = []

    async def search(self, question: str, **_: Any) -> list[Memory]:
        if self.fail:
            raise OSError("the vector store went away")
        if self.gate is not None:
            await self.gate.wait()
        return [_memory(PAST)]

    async def add_turn(self, **turn: Any) -> Memory:
        self.added.append(turn)
        return _memory(turn["answer"], "5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44")


class Registry:
    """The project's registry with a scripted LM."""

    def __init__(self, real: Any, lm: Any) -> None:
        self.real, self.lm = real, lm

    def create(self, agent_id: str, tools: Any) -> Any:
        return self.real.create(agent_id, tools)

    def lm_for(self, agent_id: str) -> Any:
        return self.lm


def _service(registry: Any, tools: Any, store: Store, lm: Any) -> TurnService:
    return TurnService(
        registry=Registry(registry, lm),
        tools=lambda: tools,
        memory=lambda: store,
        tws=None,
        log=logging.getLogger("test.turns"),
    )


async def test_past_turns_are_looked_up_while_the_tools_run(registry: Any, tools: Any) -> None:
    gate = asyncio.Event()
    store = Store(gate)
    lm = DummyLM([{"answer": ANSWER}], adapter=compact_adapter())
    frames: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        frames.append(frame)
        if frame["type"] == "tool_result":
            gate.set()  # the lookup may finish only once a tool has answered

    service = _service(registry, tools, store, lm)
    # Were the lookup done before the tools, it would wait for the gate for ever.
    final = await asyncio.wait_for(
        service.run("tws-troubleshooter", "t1", "Why did PAYROLL_EXTRACT fail?", send), 30
    )
    assert final["context"] == ["0b7e4d3c-58a9-4a39-9c0e-4f4a8f0e1a11"]
    assert final["content"] == ANSWER
    prompt = lm.history[-1]["messages"][-1]["content"]
    assert "The DB password had expired" in prompt  # the awaited context reached the LM
    timing = final["timing"]
    assert timing["retrieval_ms"] > 0
    assert timing["lm_ms"] <= timing["agent_ms"]


async def test_a_failed_lookup_leaves_the_turn_without_past_turns(
    registry: Any, tools: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(fail=True)
    lm = DummyLM([{"answer": ANSWER}], adapter=compact_adapter())

    async def send(frame: dict[str, Any]) -> None:
        pass

    service = _service(registry, tools, store, lm)
    with caplog.at_level(logging.WARNING, logger="test.turns"):
        final = await service.run("tws-troubleshooter", "t2", "Why did PAYROLL_EXTRACT fail?", send)
    assert final["context"] == [] and final["content"] == ANSWER
    assert final["memory_id"] == "5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44"
    assert "no past turns for context (OSError: the vector store went away)" in caplog.text


class Plain(dspy.Module):
    """A program that does not say ``awaits_context``: it must get a plain list."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Any = None
        self.answer = dspy.Predict("question, past -> answer")

    def answer_predictors(self) -> list[Any]:
        return [self.answer]

    async def aforward(self, question: str, context: Any = (), on_tool: Any = None) -> Any:
        self.seen = context
        out = await self.answer.acall(question=question, past=" | ".join(context))
        return dspy.Prediction(answer=out.answer, evidence=[])


async def test_a_program_without_awaits_context_gets_the_list() -> None:
    async def lookup() -> list[str]:
        await asyncio.sleep(0.01)
        return ["password=hunter2 was reset"]

    program = Plain()
    lm = DummyLM([{"answer": "ok"}])
    result = await run_agent_streaming(program, lm, question="q?", context=lookup())
    assert result.answer == "ok"
    assert program.seen == ["password=*** was reset"]  # awaited, and masked
