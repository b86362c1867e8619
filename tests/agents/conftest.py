"""Fixtures for the agents: the real simulator on a night of failures, the real tools over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "evals" / "scenarios" / "night_failures.yaml"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[Any]:
    """Serve the night_failures scenario on a free loopback port."""
    from resync_ext.tws.simulator.server import start_simulator

    running = await start_simulator(SCENARIO)
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def tools(sim: Any) -> AsyncIterator[dict[str, Any]]:
    """The read-only TWS tools bound to a client of the simulator."""
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.tools import build_tools

    client = TWSClient(sim.url, user=sim.user, password=sim.password)
    yield build_tools(client)
    await client.aclose()


@contextlib.asynccontextmanager
async def tools_on(scenario: str) -> AsyncIterator[dict[str, Any]]:
    """The read-only tools over a simulator serving ``scenario`` (a file of the eval nights)."""
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    running = await start_simulator(SCENARIO.parent / scenario)
    client = TWSClient(running.url, user=running.user, password=running.password)
    try:
        yield build_tools(client)
    finally:
        await client.aclose()
        await running.stop()


@pytest.fixture
def registry() -> Any:
    """The project's own agents configuration, loaded."""
    from resync_ext.agents.registry import AgentRegistry

    reg = AgentRegistry(ROOT / "config" / "runtime.json")
    reg.load()
    return reg


class Events:
    """Collect what the runner emits."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    async def __call__(self, event: dict[str, Any]) -> None:
        self.items.append(event)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.items if e["type"] == kind]


@pytest.fixture
def events() -> Events:
    """A fresh event collector."""
    return Events()


@pytest.fixture
def unknown_tools(tools: dict[str, Any]) -> dict[str, Any]:
    """The same tools over a knowledge base that knows none of tonight's errors: the failures
    are ones the model must explain (with a known issue, code writes the steps)."""

    async def lookup_known_issue(**_: Any) -> dict[str, Any]:
        return {"matches": [], "note": "no known issue matches; read the job log"}

    return {**tools, "lookup_known_issue": lookup_known_issue}
