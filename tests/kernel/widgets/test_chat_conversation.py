"""The chat panel's conversation against a real server: follow-ups, a reconnect that resumes, a new
conversation; and the turn's status line while it waits (queue position, stages)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from resync_ext.kernel.widgets.chat_panel import ChatPanel
from resync_ext.kernel.widgets.chat_turn import TurnView
from tests.kernel.widgets.server import RunningServer

AGENT = "tws-troubleshooter"


@pytest_asyncio.fixture
async def panel(server: RunningServer) -> AsyncIterator[ChatPanel]:
    panel = ChatPanel(server.client(), agent=AGENT)
    yield panel
    await panel.aclose()


async def _ask(panel: ChatPanel, text: str) -> tuple[TurnView, list[str]]:
    """Ask as the user does; return the turn and every status line it showed."""
    view = panel.send(text)
    assert view is not None
    shown: list[str] = []
    view.status_html.observe(lambda change: shown.append(str(change["new"])), names="value")
    await view.wait(60)
    assert view.final is not None, view.errors
    return view, shown


@pytest.mark.slow
@pytest.mark.asyncio
async def test_follow_ups_a_reconnect_and_a_new_conversation(
    panel: ChatPanel, server: RunningServer
) -> None:
    assert "no question yet" in panel.conversation_html.value
    chat_asks = server.lm.chat_calls
    first, shown = await _ask(panel, "Why did PAYROLL_EXTRACT fail last night?")
    conversation = panel.conversations[AGENT]
    assert first.final is not None and first.final["conversation"] == conversation
    # The status line followed the stages, then said what the turn was about. A known issue
    # applies: code writes its steps, so there is no "writing" stage and the model is not asked.
    assert any("Reading the plan…" in s for s in shown), shown
    assert any("Found the facts…" in s for s in shown), shown
    assert not any("Writing…" in s for s in shown), shown
    assert "Next steps:\n1. Check the credentials the job uses" in first.answer
    assert server.lm.chat_calls == chat_asks
    assert "about PAYROLL_EXTRACT" in first.status_html.value
    assert "1 turn, about PAYROLL_EXTRACT" in panel.conversation_html.value

    log, _ = await _ask(panel, "and its log?")
    assert log.final is not None and log.final["subject"] == "PAYROLL_EXTRACT"
    assert "ORA-01017" in log.answer and "Error lines of its log" in log.answer
    assert "2 turns, about PAYROLL_EXTRACT" in panel.conversation_html.value

    # The socket drops: the next question opens a new one that resumes the conversation.
    await panel._conns[AGENT].aclose()
    blocks, _ = await _ask(panel, "What does it block?")
    assert blocks.final is not None
    assert (blocks.final["conversation"], blocks.final["subject"]) == (
        conversation,
        "PAYROLL_EXTRACT",
    )
    assert "PAYROLL_CALC" in blocks.answer

    panel.new_button.click()
    assert panel.turns == [] and panel.history.children == ()
    assert "no question yet" in panel.conversation_html.value
    fresh, _ = await _ask(panel, "What does it block?")
    assert fresh.final is not None and fresh.final["conversation"] != conversation
    # Nothing to refer back to: "it" names nothing, so the answer starts from the plan summary.
    assert "plan_summary" in [c["tool"] for c in fresh.calls.values()]
    assert "plan_summary" not in [c["tool"] for c in blocks.calls.values()]


def test_the_turn_says_its_place_in_the_queue_then_each_stage() -> None:
    view = TurnView("t1", AGENT, "Why did PAYROLL_EXTRACT fail?")
    assert not view.apply({"type": "queued", "id": "t1", "position": 3})
    assert "2 questions ahead" in view.status_html.value and view.queue_position == 3
    view.apply({"type": "queued", "id": "t1", "position": 1})
    assert "next in line" in view.status_html.value
    view.apply({"type": "stage", "id": "t1", "stage": "reading", "label": "reading the plan"})
    assert view.queue_position is None and "Reading the plan…" in view.status_html.value
    view.apply({"type": "stage", "id": "t1", "stage": "writing", "label": "writing"})
    assert "Writing…" in view.status_html.value
    # A warning does not end the turn; the final frame does, and says what it was about.
    assert not view.apply(
        {"type": "error", "id": "t1", "code": "unknown_conversation", "message": "m"}
    )
    done = view.apply(
        {
            "type": "final",
            "id": "t1",
            "content": "PAYROLL_EXTRACT abended.",
            "memory_id": None,
            "evidence": [],
            "context": [],
            "timing": {},
            "subject": "PAYROLL_EXTRACT",
        }
    )
    assert done and "about PAYROLL_EXTRACT" in view.status_html.value
