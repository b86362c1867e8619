"""Each investigation rule of the troubleshooter, over the real simulator, on nights of its own.

The model is scripted (DummyLM); what is checked is what code found and wrote: the facts lines
of the answer and the evidence recorded for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from dspy.utils.dummies import DummyLM

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.explain import evidence_texts
from resync_ext.agents.grounding import check
from resync_ext.agents.runner import run_agent_streaming
from tests.agents.conftest import tools_on

SCENARIOS = Path(__file__).resolve().parents[1] / "evals" / "scenarios"
EXPLAIN = "Why: see the facts above.\nNext steps:\n1. Follow the runbook."


@pytest_asyncio.fixture(params=["crm_reruns.yaml", "dwh_runtime.yaml"])
async def night(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """The real tools over HTTP on one of the eval nights."""
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    running = await start_simulator(SCENARIOS / request.param)
    client = TWSClient(running.url, user=running.user, password=running.password)
    yield {"name": request.param, "tools": build_tools(client)}
    await client.aclose()
    await running.stop()


async def _ask(registry: Any, tools: Any, question: str) -> Any:
    lm = DummyLM([{"answer": EXPLAIN}] * 2, adapter=compact_adapter())
    agent = registry.create("tws-troubleshooter", tools)
    result = await run_agent_streaming(agent, lm, question=question)
    # Whatever the rule, the answer states only what its evidence shows.
    report = check(result.answer, evidence_texts(result.evidence), question)
    assert report.ok, report.unsupported
    return result


def _section(lines: list[str], label: str) -> str:
    """The items listed under ``label`` (a label line, then one "- " line each)."""
    at = next(i for i, x in enumerate(lines) if x.startswith(label))
    items = []
    for line in lines[at + 1 :]:
        if not line.startswith("- "):
            break
        items.append(line)
    assert items, f"nothing listed under {label}"
    return "\n".join(items)


@pytest.mark.asyncio
async def test_rules_on_each_night(registry: Any, night: dict[str, Any]) -> None:
    tools = night["tools"]
    if night["name"] == "crm_reruns.yaml":
        # A job that abended and was rerun successfully has recovered: nothing to do.
        r = await _ask(registry, tools, "Why did CRM_PRICE_SYNC fail?")
        assert "the rerun completed successfully, so it has recovered" in r.answer
        assert r.answer.endswith("Nothing needs doing.")
        # Still failing after two reruns.
        r = await _ask(registry, tools, "What happened to CRM_DEDUP?")
        assert "It has been rerun 2 times and every run failed." in r.answer
        # Asked only about its reruns: the status line and the reruns, not the whole story.
        r = await _ask(registry, tools, "Has CRM_DEDUP been rerun?")
        assert r.answer.splitlines()[1:] == ["It has been rerun 2 times and every run failed."]
        r = await _ask(registry, tools, "Was CRM_CONTACT_SYNC rerun?")
        assert "the rerun completed successfully, so it has recovered" in r.answer
        r = await _ask(registry, tools, "Has CRM_LEAD_SCORE been rerun?")
        assert r.answer.endswith(
            "It has not started yet in the current plan, so it has not been rerun."
        )
        r = await _ask(registry, tools, "Has CRM_MAIL_BATCH been rerun?")
        assert r.answer.endswith("It has not been rerun in the current plan: this is its only run.")
        # A transient error that was retried and recovered is not the cause; the fatal one is.
        r = await _ask(registry, tools, "Why did CRM_MAIL_BATCH abend?")
        assert 'Cause: the job log says "01:15:02 ERROR ORA-01653' in r.answer
        assert "SMTP 421" not in r.answer.split("Why:")[0]
        r = await _ask(registry, tools, "Why did the crm web orders job fail?")
        assert "SQLSTATE 23505" in r.answer and "Connection reset" not in r.answer
    else:
        # A job running far past its estimate is compared with it.
        r = await _ask(registry, tools, "Is DWH_FACT_SALES still running?")
        assert "It has been running for" in r.answer
        assert "times longer than expected" in r.answer
        # Critical jobs: projected finish along the chain against the deadline.
        r = await _ask(registry, tools, "Is DWH_FIN_PUBLISH at risk?")
        assert "It is at risk: it would end only about 5 min before its deadline (06:45" in (
            r.answer
        )
        assert "It waits for DWH_FIN_PRODUCTS.DWH_FIN_AGG." in r.answer or "DWH_FIN_AGG" in r.answer
        r = await _ask(registry, tools, "Will DWH_DASH_PUBLISH be on time?")
        assert "It is on time" in r.answer and "at risk" not in r.answer
        # A stream that is fine is said to be fine, with counts, and nothing is invented.
        r = await _ask(registry, tools, "How is DWH_HOUSEKEEP doing?")
        assert r.answer.splitlines()[0].startswith("Job stream DWH_HOUSEKEEP")


@pytest.mark.asyncio
async def test_the_analyzer_writes_the_plan_facts_itself(registry: Any) -> None:
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    running = await start_simulator(SCENARIOS / "dwh_runtime.yaml")
    client = TWSClient(running.url, user=running.user, password=running.password)
    try:
        lm = DummyLM([{"answer": EXPLAIN}], adapter=compact_adapter())
        agent = registry.create("tws-analyzer", build_tools(client))
        question = "Is anything critical at risk this morning?"
        result = await run_agent_streaming(agent, lm, question=question)
    finally:
        await client.aclose()
        await running.stop()
    lines = result.answer.splitlines()
    assert lines[0] == "No job failed."
    critical = _section(lines, "Critical jobs")
    assert "DWH_CUBE_REFRESH will miss its deadline (06:30 UTC, in 30 min) by about" in critical
    assert "DWH_FIN_PUBLISH is at risk" in critical
    assert "DWH_DASH_PUBLISH is on time" in critical
    running_long = _section(lines, "Running longer than expected")
    assert "DWH_FACT_SALES" in running_long and "DWH_PARTITION_ROLL" in running_long
    assert result.answer.endswith(EXPLAIN)
    report = check(result.answer, evidence_texts(result.evidence), question)
    assert report.ok, report.unsupported


@pytest.mark.asyncio
async def test_the_analyzers_sentence_that_contradicts_its_facts_is_dropped(
    registry: Any,
) -> None:
    # True names, false statement: the facts call DWH_DASH_PUBLISH on time; the model put it at
    # risk (measured with the embedded model on this night). The guard of names cannot see it.
    said = (
        "Why it matters: DWH_EXEC_DASH.DWH_DASH_PUBLISH is at risk of missing its deadline.\n"
        "Next steps:\n1. Watch DWH_NIGHTLY_FACTS.DWH_FACT_SALES until it ends."
    )
    lm = DummyLM([{"answer": said}], adapter=compact_adapter())
    async with tools_on("dwh_runtime.yaml") as tools:
        agent = registry.create("tws-analyzer", tools)
        result = await run_agent_streaming(agent, lm, question="Is anything at risk?")
    assert "DWH_DASH_PUBLISH is on time" in result.answer
    assert "at risk of missing" not in result.answer
    assert "1. Watch DWH_NIGHTLY_FACTS.DWH_FACT_SALES until it ends." in result.answer
    assert result.answer.endswith("the facts above are what the plan shows.)")
    assert result.prediction.grounding["dropped"] == 1
