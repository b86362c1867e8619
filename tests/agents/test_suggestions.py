"""Suggested questions from the live plan, over several simulated nights: each names that night's
own problems, a quiet night gets questions for any night, an unreadable plan says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.routing import OBJECT, route
from resync_ext.agents.suggestions import ANY_NIGHT, suggest
from resync_ext.tws.client import TWSClient
from resync_ext.tws.simulator.server import start_simulator
from resync_ext.tws.tools import build_tools

SCENARIOS = Path(__file__).resolve().parents[1] / "evals" / "scenarios"


async def _suggested(scenario: str) -> list[str]:
    sim = await start_simulator(SCENARIOS / scenario)
    client = TWSClient(sim.url, user=sim.user, password=sim.password)
    try:
        tools = build_tools(client)
        found = await suggest(tools["plan_summary"], tools["list_jobs"])
    finally:
        await client.aclose()
        await sim.stop()
    return [s.question for s in found.suggestions]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (
            "plan_problems.yaml",
            [
                "What failed tonight?",
                "Why did MAKEPLAN fail?",
                "Will PURGE_STDLIST make its deadline?",
                "Why is the HOUSEKEEP stream late?",
            ],
        ),
        (
            "logistics_blockers.yaml",
            [
                "Why is LOG_AIX07 unlinked?",
                "What is LOG_RELEASE_WAVES waiting for?",
                "What needs attention tonight?",
            ],
        ),
        ("quiet_night.yaml", list(ANY_NIGHT)),
    ],
)
async def test_each_night_gets_questions_about_its_own_problems(
    scenario: str, expected: list[str]
) -> None:
    questions = await _suggested(scenario)
    assert questions == expected
    named = [q for q in questions if q not in ANY_NIGHT and q != "What failed tonight?"]
    assert all(route(q).kind == OBJECT for q in named)


@pytest.mark.asyncio
async def test_an_unreadable_plan_offers_questions_for_any_night_and_says_why() -> None:
    async def down(**_: Any) -> dict[str, Any]:
        return {"error": {"kind": "unavailable", "message": "TWS connection error"}}

    found = await suggest(down)
    assert [s.question for s in found.suggestions] == list(ANY_NIGHT)
    assert found.note == "The plan could not be read: TWS connection error"
