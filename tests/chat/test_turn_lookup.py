"""A turn whose lookup of past turns fails still answers, without them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.chat.frames import OutboundFrame
from resync_ext.chat.turns import TurnService
from resync_ext.memory.models import Memory, MemoryMetadata

pytestmark = pytest.mark.asyncio

ANSWER = "Cause: PAYROLL_EXTRACT failed with ORA-01017.\nNext steps:\n1. Check the credentials."


def _memory(text: str, memory_id: str) -> Memory:
    meta = MemoryMetadata(agent_id="tws-troubleshooter", question="q", answer="a")
    return Memory(id=memory_id, text=text, created_at="2026-11-24T02:00:00+00:00", metadata=meta)


class Store:
    """The memory store at the turn's edge, whose search fails."""

    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    async def search(self, question: str, **_: Any) -> list[Memory]:
        raise OSError("the vector store went away")

    async def add_turn(self, **turn: Any) -> Memory:
        self.added.append(turn)
        return _memory(turn["answer"], "5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44")


class Registry:
    """The project's registry with a scripted LM."""

    def __init__(self, real: Any, lm: Any) -> None:
        self.real, self.lm = real, lm

    def get(self, agent_id: str) -> Any:
        return self.real.get(agent_id)

    def create(self, agent_id: str, tools: Any) -> Any:
        return self.real.create(agent_id, tools)

    def lm_for(self, agent_id: str) -> Any:
        return self.lm


def _service(registry: Any, tools: Any, store: Store, lm: Any) -> TurnService:
    return TurnService(
        registry=Registry(registry, lm),
        tools=lambda: tools,
        memory=store,
        tws=None,
        log=logging.getLogger("test.turns"),
    )


async def test_a_failed_lookup_leaves_the_turn_without_past_turns(
    registry: Any, unknown_tools: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store()
    lm = DummyLM([{"answer": ANSWER}], adapter=compact_adapter())

    async def send(frame: OutboundFrame) -> None:
        pass

    service = _service(registry, unknown_tools, store, lm)
    with caplog.at_level(logging.WARNING, logger="test.turns"):
        final = await service.run("tws-troubleshooter", "t2", "Why did PAYROLL_EXTRACT fail?", send)
    assert final.context == [] and final.content.endswith(ANSWER)
    assert "Seen before" not in final.content
    assert final.memory_id == "5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44"
    assert "no past turns for context (OSError: the vector store went away)" in caplog.text


async def test_a_turn_leaves_nothing_in_dspys_lm_histories(
    registry: Any, unknown_tools: Any
) -> None:
    from dspy.clients.base_lm import GLOBAL_HISTORY

    lm = DummyLM([{"answer": ANSWER}], adapter=compact_adapter())

    async def send(frame: OutboundFrame) -> None:
        pass

    before = len(GLOBAL_HISTORY)
    # A failure no known issue explains: the model writes in this turn.
    final = await _service(registry, unknown_tools, Store(), lm).run(
        "tws-troubleshooter", "t3", "Why did PAYROLL_EXTRACT fail?", send
    )
    # Up to 10 000 prompts per history would pile up in a long-running server otherwise.
    assert final.content.endswith("1. Check the credentials.")
    assert lm.history == [] and len(GLOBAL_HISTORY) == before


class History(Store):
    """A store whose search finds two past turns: one about the asked job, one about another."""

    def __init__(self, memories: list[Memory]) -> None:
        super().__init__()
        self.memories = memories

    async def search(self, question: str, **_: Any) -> list[Memory]:
        return self.memories


def _past(memory_id: str, question: str, answer: str, state: str) -> Memory:
    meta = MemoryMetadata(
        agent_id="tws-troubleshooter",
        question=question,
        answer=answer,
        evidence=[{"tool": "get_job", "args": {}, "summary": answer}],
        state=state,  # type: ignore[arg-type]
    )
    return Memory(
        id=memory_id,
        text=f"{question}\n{answer}",
        created_at="2026-11-20T03:00:00+00:00",
        metadata=meta,
    )


async def test_past_turns_are_dated_history_about_the_same_job_never_facts(
    registry: Any, tools: Any
) -> None:
    same = _past(
        "aaaaaaaa-0000-4000-8000-000000000001",
        "Why did PAYROLL_EXTRACT fail?",
        "PAYROLL_EXTRACT abended with ORA-28000 at 01:13, return code 9.",
        "approved",
    )
    other = _past(
        "bbbbbbbb-0000-4000-8000-000000000002",
        "Why did LOAD_SALES fail?",
        "LOAD_SALES abended: disk full, return code 1.",
        "new",
    )
    lm = DummyLM([{"answer": ANSWER}], adapter=compact_adapter())
    frames: list[OutboundFrame] = []

    async def send(frame: OutboundFrame) -> None:
        frames.append(frame)

    service = _service(registry, tools, History([other, same]), lm)
    final = await service.run("tws-troubleshooter", "t4", "Why did PAYROLL_EXTRACT fail?", send)
    # The past turn about this job is one dated, labelled line; the other job's turn is not shown;
    # neither past answer's facts (code, time, return code) appear as tonight's.
    assert final.content.endswith(
        "Seen before: PAYROLL_EXTRACT was asked about on 20 Nov; that answer was approved by a "
        "reviewer (memory aaaaaaaa)."
    )
    for leaked in ("ORA-28000", "01:13", "return code 9", "LOAD_SALES", "disk full"):
        assert leaked not in final.content
    assert final.subject == "PAYROLL_EXTRACT" and final.agent == "tws-troubleshooter"
    tokens = "".join(f.content for f in frames if f.type == "token")
    assert tokens == final.content
