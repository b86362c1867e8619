"""A chat turn that reads a 1 MB adversarial job log never stalls the event loop for 100 ms.

The turn runs for real (the project's agent, the real TWS tools and client, a scripted LM at
the edge) against the simulator, which serves the log from its own thread and loop so that only
Resync's work is measured. A ticker coroutine on the turn's loop records its worst lateness.
The log carries the shapes that once backtracked (``x-x-x-`` near key words, lines repeating
``unlink``), secrets, error lines and a few 60 KB lines; the client's bound is raised above
1 MB so that all of it reaches masking, screening and the known-issue lookup.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.chat.frames import OutboundFrame
from resync_ext.chat.turns import TurnService
from resync_ext.memory.models import Memory, MemoryMetadata
from resync_ext.tws.client import TWSClient
from resync_ext.tws.simulator.testing import run_in_thread
from resync_ext.tws.tools import build_tools
from tests.agents.conftest import registry

__all__ = ["registry"]
pytestmark = pytest.mark.slow

SCENARIO = Path(__file__).resolve().parents[1] / "evals" / "scenarios" / "night_failures.yaml"
SECRET = "Stall-Secret-77"
STALL_BOUND_S = 0.1
ANSWER = "Cause: PAYROLL_EXTRACT failed with ORA-01017.\nNext steps:\n1. Check the credentials."


def adversarial_log(size: int = 1 << 20) -> str:
    """Return ~``size`` bytes of job log built to be slow to mask and to match."""
    lines = [
        "password " + "x-" * 200,
        "x-" * 200 + " token",
        "unlink " * 60,
        f"db2 connect to PAYDB user db2inst1 using {SECRET}",
        "ORA-01017: invalid username/password; logon denied  pwd=" + "a-" * 40,
        "Authorization: Bearer " + "eyJ" * 50,
        "curl -u ops:" + "@" * 100,
        "-----BEGIN RSA PRIVATE KEY-----",
        "AWSBHT001E The job has failed with the error: " + "'" * 80,
    ]
    block = "\n".join(lines) + "\n"
    text = block * (size // len(block))
    wide = ("password=" + "y" * 60 + " ") * 900  # ~62 KB lines, no newline inside
    return wide + "\n" + text + wide + "\n" + "extract aborted\n"


def adversarial_scenario(log: str) -> dict[str, Any]:
    """Return night_failures with PAYROLL_EXTRACT's job log replaced by ``log``."""
    spec: dict[str, Any] = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    job = next(j for s in spec["job_streams"] for j in s["jobs"] if j["name"] == "PAYROLL_EXTRACT")
    job["log"] = log
    return spec


@pytest.fixture
def sim_thread() -> Iterator[Any]:
    """Serve the adversarial scenario from its own thread and loop."""
    with run_in_thread(adversarial_scenario(adversarial_log())) as sim:
        yield sim


class Store:
    """The memory store at the turn's edge: no past turns, keeps what is added."""

    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    async def search(self, question: str, **_: Any) -> list[Memory]:
        return []

    async def add_turn(self, **turn: Any) -> Memory:
        self.added.append(turn)
        meta = MemoryMetadata(agent_id="tws-troubleshooter", question="q", answer="a")
        return Memory(
            id="5d0f6f9e-0f4c-4a57-8f5f-0d1b8e2c3a44",
            text=turn["answer"],
            created_at="2026-11-24T02:00:00+00:00",
            metadata=meta,
        )


class Registry:
    """The project's registry with a scripted LM."""

    def __init__(self, real: Any, lm: Any) -> None:
        self.real, self.lm = real, lm

    def create(self, agent_id: str, tools: Any) -> Any:
        return self.real.create(agent_id, tools)

    def lm_for(self, agent_id: str) -> Any:
        return self.lm

    def get(self, agent_id: str) -> Any:
        return self.real.get(agent_id)


async def run_turn_measuring_stall(sim: Any, registry: Any) -> tuple[float, list[Any], Store]:
    """Run one turn about PAYROLL_EXTRACT; return the loop's worst lateness, frames, store."""
    client = TWSClient(sim.url, user=sim.user, password=sim.password, max_log_bytes=4 << 20)
    tools = build_tools(client)
    store = Store()
    lm = DummyLM([{"answer": ANSWER}] * 3, adapter=compact_adapter())
    service = TurnService(
        registry=cast(Any, Registry(registry, lm)),  # the real registry, its LM scripted
        tools=lambda: tools,
        memory=cast(Any, store),
        tws=None,
        log=logging.getLogger("test.stall"),
    )
    frames: list[OutboundFrame] = []

    async def send(frame: OutboundFrame) -> None:
        frames.append(frame)

    loop = asyncio.get_running_loop()
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - start - 0.005)

    tick = asyncio.create_task(ticker())
    try:
        await service.run("tws-troubleshooter", "s1", "Why did PAYROLL_EXTRACT fail?", send)
    finally:
        done.set()
        await tick
        await client.aclose()
    return worst, frames, store


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_a_turn_reading_a_1mb_adversarial_log_never_stalls_the_loop(
    sim_thread: Any, registry: Any
) -> None:
    worst, frames, store = await run_turn_measuring_stall(sim_thread, registry)
    # Lateness is wall-clock time: on a shared 2-core machine another process can take the CPU
    # for tens of ms. A stall Resync causes shows in every run; the quietest of three counts.
    for _ in range(2):
        if worst < STALL_BOUND_S:
            break
        worst = min(worst, (await run_turn_measuring_stall(sim_thread, registry))[0])
    wire = json.dumps([f.model_dump(mode="json") for f in frames])
    assert '"get_job_log"' in wire, "the turn read the log"
    read = [f for f in frames if f.type == "tool_result" and f.tool == "get_job_log"]
    assert "ORA-01017" in read[0].summary, "what the log says came back"
    assert SECRET not in wire and SECRET not in json.dumps(store.added)
    # the premise: the whole megabyte went through masking, screening and the lookup
    client = TWSClient(sim_thread.url, user="demo", password="demo", max_log_bytes=4 << 20)
    try:
        read_all = await build_tools(client)["get_job_log"]("PAYROLL_EXTRACT")
    finally:
        await client.aclose()
    assert (
        read_all["lines"] >= adversarial_log().count("\n") and "log_lines_left_out" not in read_all
    )
    assert worst < STALL_BOUND_S, f"the event loop stalled {worst * 1000:.0f} ms"
