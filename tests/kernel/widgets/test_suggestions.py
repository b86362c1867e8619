"""Suggested questions in the chat panel, against the real server over the demo night: shown on
an empty chat, a click asks one through auto, the answer names the agent that answered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from resync_ext.kernel.widgets.chat_panel import ChatPanel
from resync_ext.kernel.widgets.suggestions import SuggestionsView
from tests.kernel.widgets.server import RunningServer

pytestmark = pytest.mark.slow


async def until(check: Any, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def test_questions_fetched_outside_a_loop_are_shown_at_once(server: RunningServer) -> None:
    picked: list[str] = []
    with server.client() as client:
        view = SuggestionsView(client, on_pick=picked.append)
        assert view.refresh() is None
    assert view.questions[:2] == ["What failed tonight?", "Why did PAYROLL_EXTRACT fail?"]
    assert view.layout.display is None and len(view.buttons.children) == len(view.questions)
    view.buttons.children[1].click()
    assert picked == ["Why did PAYROLL_EXTRACT fail?"]
    view.hide()
    view.show({"suggestions": [{"question": "Late?", "reason": "r"}]})
    assert view.layout.display == "none", "a late answer does not reopen a started chat"


@pytest.mark.asyncio
async def test_an_empty_chat_offers_questions_and_a_click_asks_one_through_auto(
    server: RunningServer,
) -> None:
    panel = ChatPanel(server.client())
    try:
        assert panel.agent_picker.value == "auto"
        await until(lambda: panel.suggestions.questions, 30)
        assert panel.suggestions.layout.display is None
        first = panel.suggestions.buttons.children[0]
        assert first.description == "What failed tonight?" and "failed" in first.tooltip
        first.click()
        assert panel.suggestions.layout.display == "none" and len(panel.turns) == 1
        turn = panel.turns[0]
        await turn.wait(90)
        assert turn.final is not None and turn.final["agent"] == "tws-analyzer"
        assert '<b class="resync-agent">tws-analyzer</b>' in turn.answer_html.value
    finally:
        await panel.aclose()
