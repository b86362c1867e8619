"""One simulated night: a scenario served by the simulator, asked through the turn service."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.chat.turns import TurnService
    from resync_ext.memory.store import MemoryStore
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import RunningSimulator


@dataclass
class Turn:
    """One question asked and what came back."""

    answer: str
    evidence: list[dict[str, Any]]
    tools: list[str]
    seconds: float
    errors: list[str]
    memory_id: str | None
    grounding: dict[str, int] | None
    context: list[str]


def _as_dict(frame: Any) -> dict[str, Any]:
    if isinstance(frame, dict):
        return frame
    dumped: dict[str, Any] = frame.model_dump()
    return dumped


class Asker(Protocol):
    """What asks a case's questions: a served night, or a fake in tests."""

    async def ask(self, agent_id: str, question: str, conversation: str) -> Turn:
        """Ask one question in ``conversation``; return what came back."""
        ...


class Night:
    """One scenario served by the simulator, asked through the chat's turn service."""

    def __init__(self, registry: AgentRegistry, memory: MemoryStore | None) -> None:
        self.registry = registry
        self.memory = memory
        self.turns = 0
        self.sim: RunningSimulator | None = None
        self.client: TWSClient | None = None
        self.service: TurnService | None = None

    @contextlib.asynccontextmanager
    async def serve(self, scenario: Path | dict[str, Any]) -> AsyncIterator[Night]:
        """Start the simulator on ``scenario`` and a turn service over it."""
        from resync_ext.chat.turns import TurnService
        from resync_ext.tws.client import TWSClient
        from resync_ext.tws.simulator.server import start_simulator
        from resync_ext.tws.tools import build_tools

        self.sim = sim = await start_simulator(scenario)
        try:
            self.client = TWSClient(sim.url, user=sim.user, password=sim.password)
            tools = build_tools(self.client)
            self.service = TurnService(
                registry=self.registry, tools=lambda: tools, tws=self.client, memory=self.memory
            )
            yield self
        finally:
            if self.client is not None:
                await self.client.aclose()
            await sim.stop()

    async def ask(self, agent_id: str, question: str, conversation: str) -> Turn:
        """Ask one question as a chat turn; return the answer, evidence and tools called."""
        if self.service is None:
            raise RuntimeError("ask() outside serve()")
        self.turns += 1
        frames: list[dict[str, Any]] = []

        async def send(frame: Any) -> None:
            frames.append(_as_dict(frame))

        kwargs: dict[str, Any] = {}
        if "conversation" in inspect.signature(self.service.run).parameters:
            kwargs["conversation"] = conversation
        t0 = time.perf_counter()
        final = _as_dict(
            await self.service.run(agent_id, f"eval-{self.turns}", question, send, **kwargs)
        )
        seconds = time.perf_counter() - t0
        return Turn(
            answer=str(final.get("content") or ""),
            evidence=list(final.get("evidence") or []),
            tools=[f["tool"] for f in frames if f.get("type") == "tool_call"],
            seconds=seconds,
            errors=[f"{f.get('code')}: {f.get('message')}" for f in frames if f["type"] == "error"],
            memory_id=final.get("memory_id"),
            grounding=final.get("grounding"),
            context=list(final.get("context") or []),
        )
