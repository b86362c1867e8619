"""ChatPanel against a real server: set values and click as a user does, check page and server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from html import escape
from typing import Any

import pytest
import pytest_asyncio

from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.widgets.chat_panel import ChatPanel
from resync_ext.kernel.widgets.chat_turn import TurnView
from tests.kernel.widgets.server import ANSWER, MODEL_QUESTION, RunningServer

pytestmark = pytest.mark.slow


async def until(check: Any, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def flagged_item(panel: ChatPanel, memory_id: str) -> dict[str, Any]:
    """The review item the server's background audit files for ``memory_id``."""
    async with asyncio.timeout(60):
        while True:
            for summary in await asyncio.to_thread(panel.client.batches):
                batch = await asyncio.to_thread(panel.client.batch, summary["name"])
                for item in batch["items"]:
                    if item["memory_id"] == memory_id:
                        return dict(item)
            await asyncio.sleep(0.5)


def remembered(server: RunningServer) -> int:
    with server.client() as client:
        return sum(client.metrics()["by_state"].values())


@pytest_asyncio.fixture
async def panel(server: RunningServer) -> AsyncIterator[ChatPanel]:
    panel = ChatPanel(server.client())
    yield panel
    await panel.aclose()


@pytest.mark.asyncio
async def test_enter_streams_a_markdown_answer_with_one_evidence_row_per_tool_call(
    panel: ChatPanel, server: RunningServer
) -> None:
    options = [o[1] for o in panel.agent_picker.options]
    assert options == ["auto", "tws-troubleshooter", "tws-analyzer"]
    assert panel.agent_picker.value == "auto" and "whole plan" in panel.agent_about.value
    panel.input.value = "   "  # blank: nothing is sent
    assert panel.turns == []
    panel.input.value = MODEL_QUESTION  # what Enter syncs (the model answers, in Markdown)
    assert panel.input.value == "" and len(panel.turns) == 1
    turn = panel.turns[0]
    renders: list[str] = []
    turn.answer_html.observe(lambda c: renders.append(c["new"]), names="value")
    assert not panel.stop_button.disabled
    await turn.wait(90)

    assert turn.final is not None and turn.errors == []
    html = turn.answer_html.value
    assert "<strong>FACT_SALES_LOAD</strong>" in html and "<code>v$session</code>" in html
    assert "<ol>" in html and "▍" not in html
    assert any("▍" in r for r in renders[:-1]), "the answer is shown while it streams"
    evidence = turn.final["evidence"]
    assert len(evidence) >= 2 and len(turn.evidence.children) == len(evidence)
    assert turn.evidence.layout.display is None and turn.evidence.selected_index is None
    for title, row, e in zip(turn.evidence.titles, turn.evidence.children, evidence, strict=True):
        assert title.startswith(f"✓ {e['tool']}(")
        assert "arguments" in row.value and "result</b> (ok)" in row.value
    assert {"get_job", "lookup_known_issue"} <= {e["tool"] for e in evidence}
    memory_id = turn.final["memory_id"]
    assert f"remembered as {memory_id}" in turn.status_html.value
    assert panel.stop_button.disabled
    # The server remembered what the panel showed, and its auditor files it for review.
    stored = await asyncio.to_thread(panel.client.memory, memory_id)
    answer = stored["metadata"]["answer"]
    assert ANSWER in answer and turn.final["content"].startswith(answer)
    assert stored["metadata"]["state"] in {"new", "flagged"}
    item = await flagged_item(panel, memory_id)
    assert item["answer"] == answer
    assert item["question"] == MODEL_QUESTION


@pytest.mark.asyncio
async def test_history_keeps_every_turn_and_shows_the_past_turns_used(
    panel: ChatPanel, server: RunningServer
) -> None:
    chat_asks = server.lm.chat_calls
    first = await panel.ask("Why did PAYROLL_EXTRACT abend?", timeout=90)
    panel.input.value = "Why did PAYROLL_EXTRACT abend again?"
    second = panel.turns[-1]
    await second.wait(90)
    assert list(panel.history.children) == [first, second]
    assert "Why did PAYROLL_EXTRACT abend?" in first.question_html.value
    # A known issue applies: its steps are written by code (a Markdown list), the model not asked.
    html = first.answer_html.value
    assert "<li>Check the credentials the job uses" in html, "first answer stays"
    assert server.lm.chat_calls == chat_asks
    assert second.final is not None and second.final["context"]
    await until(lambda: "Similar past turns" in second.context_html.value, 20)
    html = second.context_html.value
    assert f"({len(second.final['context'])})" in html
    for memory_id in second.final["context"]:  # each past turn shown by its question
        memory = await asyncio.to_thread(panel.client.memory, memory_id)
        assert escape(memory["metadata"]["question"]) in html


@pytest.mark.asyncio
async def test_stop_button_cancels_the_running_turn(
    panel: ChatPanel, server: RunningServer
) -> None:
    before = remembered(server)
    view = panel.send("SLOW: why has FACT_SALES_LOAD not finished?")
    assert isinstance(view, TurnView)
    await until(lambda: len(view.calls) > 0)  # the turn runs on the server
    panel.stop_button.click()
    await view.wait(30)
    assert view.final is None
    assert [e["code"] for e in view.errors] == ["stopped"]
    assert "stopped" in view.errors_html.value and "stopped" in view.status_html.value
    assert panel.stop_button.disabled
    assert remembered(server) == before, "a stopped turn is not remembered"


@pytest.mark.asyncio
async def test_an_error_frame_is_shown_as_an_error(panel: ChatPanel, server: RunningServer) -> None:
    server.sim.set_faults(down=True)
    try:
        view = await panel.ask("Which jobs abended on AGT_LNX01?", timeout=90)
    finally:
        server.sim.clear_faults()
    assert [e["code"] for e in view.errors] == ["tws_unavailable"]
    assert 'class="resync-error"' in view.errors_html.value
    assert "tws_unavailable" in view.errors_html.value
    assert view.final is not None and view.final["memory_id"] is None
    assert "not remembered" in view.status_html.value


@pytest.mark.asyncio
async def test_a_socket_lost_mid_turn_ends_it_with_an_error_and_the_next_turn_reconnects(
    panel: ChatPanel,
) -> None:
    view = panel.send(f"SLOW: {MODEL_QUESTION}")  # the model writes in this turn
    assert view is not None
    await until(lambda: len(view.calls) > 0)
    panel._conns["auto"].close()  # as when the server goes away
    await view.wait(10)
    assert [e["code"] for e in view.errors] == ["disconnected"]
    assert "send again to reconnect" in view.errors_html.value
    assert panel.stop_button.disabled
    again = await panel.ask("Is AGT_WIN02 linked?", timeout=90)
    assert again.final is not None and again.errors == []


@pytest.mark.asyncio
async def test_the_agent_list_follows_the_servers_configuration(
    panel: ChatPanel, server: RunningServer
) -> None:
    await panel.ask("Is the plan healthy?", timeout=90)  # the socket is open
    original = server.agents_config.read_text()
    config = json.loads(original)
    config["agents"][0]["description"] = "Edited while the panel is open"
    server.agents_config.write_text(json.dumps(config))
    try:
        await until(lambda: "Edited while the panel is open" in panel.agent_about.value, 30)
    finally:
        server.agents_config.write_text(original)
    await until(lambda: "whole plan" in panel.agent_about.value, 30)
    assert panel.agent_picker.value == "auto"


def test_sending_outside_an_event_loop_says_where_the_panel_runs(server: RunningServer) -> None:
    panel = ChatPanel(server.client())
    try:
        with pytest.raises(ResyncClientError, match="running asyncio loop"):
            panel.send("Anything abended?")
        assert panel.turns == [] and panel.history.children == ()
    finally:
        panel.close()
