"""One turn of the chat panel: the question, the streamed answer, its evidence and its status.

While the operator waits, the status line says where the turn is: its place in the server's queue
(``queued`` frames), then each stage as the server reaches it (``stage`` frames: reading the plan,
found the facts, writing, ...); once it ended, what it cost and what it was about.
"""

from __future__ import annotations

import asyncio
import time
from html import escape
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.chat_socket import ends_turn
from resync_ext.kernel.widgets.render import (
    answer_html,
    context_html,
    error_html,
    evidence_detail_html,
    evidence_title,
    note_html,
)

#: Re-render the streamed Markdown at most this often (each render is one message to the page).
RENDER_INTERVAL_S = 0.05


class TurnView(widgets.VBox):
    """A question and everything the server streamed back for it."""

    def __init__(self, turn_id: str, agent_id: str, question: str) -> None:
        self.turn_id = turn_id
        self.agent_id = agent_id
        self.question = question
        self.tokens: list[str] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.final: dict[str, Any] | None = None
        self.finished = False
        #: Where the turn is: a stage label from the server, or None before the first one.
        self.stage: str | None = None
        #: The turn's place in the server's queue while it waits (1: next), else None.
        self.queue_position: int | None = None
        self.started = time.monotonic()
        self._rendered_at = 0.0
        self._done = asyncio.Event()
        self.question_html = widgets.HTML(
            f'<div class="resync-question"><b>You</b>: {escape(question)}</div>'
        )
        self.answer_html = widgets.HTML()
        self.evidence = widgets.Accordion(layout=widgets.Layout(display="none"))
        # All of it behind one click: a plan-wide answer reads forty calls, and forty rows under
        # every answer push the conversation apart.
        self.evidence_box = widgets.Accordion(
            children=[self.evidence], layout=widgets.Layout(display="none")
        )
        self.evidence_box.add_class("resync-evidence")
        self.context_html = widgets.HTML()
        self.errors_html = widgets.HTML()
        self.status_html = widgets.HTML(note_html("Working…"))
        # The answer right under the question, the evidence (one row per TWS call, each one
        # click away) after it: a plan-wide answer reads forty calls, which must not push the
        # answer off the screen.
        super().__init__(
            [
                self.question_html,
                self.answer_html,
                self.errors_html,
                self.status_html,
                self.evidence_box,
                self.context_html,
            ],
            layout=widgets.Layout(border_left="3px solid #ccc", padding="2px 8px", margin="6px 0"),
        )
        self.add_class("resync-turn")

    @property
    def answer(self) -> str:
        """The answer so far (the final one once the turn ended)."""
        if self.final is not None:
            return str(self.final.get("content") or "")
        return "".join(self.tokens)

    def apply(self, frame: dict[str, Any]) -> bool:
        """Show one frame of this turn; return True when it was the turn's last."""
        kind = frame.get("type")
        if kind == "token":
            self.tokens.append(str(frame.get("content") or ""))
            if time.monotonic() - self._rendered_at >= RENDER_INTERVAL_S:
                self._render_answer(streaming=True)
        elif kind == "tool_call":
            self._add_call(frame)
        elif kind == "tool_result":
            self._finish_call(frame)
        elif kind == "queued":
            self.queue_position = int(frame.get("position") or 0) or None
            self._show_progress()
        elif kind == "stage":
            self.queue_position = None
            self.stage = str(frame.get("label") or frame.get("stage") or "")
            self._show_progress()
        elif kind == "error":
            self._show_error(str(frame.get("code") or "error"), str(frame.get("message") or ""))
        elif kind == "final":
            self.final = frame
            self._sync_evidence(list(frame.get("evidence") or []))
            self._render_answer(streaming=False)
        if ends_turn(frame):
            self._end(frame)
            return True
        return False

    def fail(self, code: str, message: str) -> None:
        """End the turn on a client-side problem (socket closed, server unreachable)."""
        if not self.finished:
            self._show_error(code, message)
            self._end({"type": "error", "code": code})

    def show_context(self, memories: list[dict[str, Any]]) -> None:
        """Show the past turns the agent was given."""
        self.context_html.value = context_html(memories)

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the turn ended."""
        async with asyncio.timeout(timeout):
            await self._done.wait()

    # -- rendering ------------------------------------------------------------------------------
    def _show_progress(self) -> None:
        if self.finished:
            return
        if self.queue_position is not None:
            ahead = self.queue_position - 1
            text = (
                "Waiting for the model: next in line"
                if ahead == 0
                else f"Waiting for the model: {ahead} question{'s' * (ahead != 1)} ahead"
            )
        else:
            text = f"{(self.stage or 'working').capitalize()}…"
        self.status_html.value = note_html(text)

    def _render_answer(self, streaming: bool) -> None:
        self._rendered_at = time.monotonic()
        text = self.answer
        if not text:
            return
        cursor = " ▍" if streaming else ""
        # The agent that answered: for "auto", the one it handed the question to (final frame).
        agent = str((self.final or {}).get("agent") or self.agent_id)
        self.answer_html.value = (
            f'<div class="resync-answer"><b class="resync-agent">{escape(agent)}</b>:'
            f"{answer_html(text + cursor)}</div>"
        )

    def _add_call(self, frame: dict[str, Any]) -> None:
        args = frame.get("args")
        call: dict[str, Any] = {
            "tool": str(frame.get("tool")),
            "args": args,
            "ok": None,
            "summary": None,
            "row": widgets.HTML(evidence_detail_html(args, None, None)),
        }
        self.calls[str(frame.get("call_id"))] = call
        self.evidence.children = (*self.evidence.children, call["row"])
        title = evidence_title(call["tool"], call["args"], None)
        self.evidence.set_title(len(self.calls) - 1, title)
        self.evidence.layout.display = None
        n = len(self.calls)
        self.evidence_box.set_title(0, f"Evidence: {n} TWS call{'s' * (n != 1)}")
        self.evidence_box.layout.display = None

    def _finish_call(self, frame: dict[str, Any]) -> None:
        call = self.calls.get(str(frame.get("call_id")))
        if call is None:  # a result without its call: show it anyway
            self._add_call(frame)
            call = self.calls[str(frame.get("call_id"))]
        call["ok"] = bool(frame.get("ok", True))
        call["summary"] = frame.get("summary")
        call["row"].value = evidence_detail_html(call["args"], call["summary"], call["ok"])
        index = list(self.calls).index(str(frame.get("call_id")))
        self.evidence.set_title(index, evidence_title(call["tool"], call["args"], call["ok"]))

    def _sync_evidence(self, evidence: list[dict[str, Any]]) -> None:
        """Trust the final frame's evidence when the streamed calls did not match it."""
        if [c["tool"] for c in self.calls.values()] == [e.get("tool") for e in evidence]:
            return
        self.calls = {}
        self.evidence.children = ()
        for n, e in enumerate(evidence):
            self._add_call({"call_id": f"final-{n}", "tool": e.get("tool"), "args": e.get("args")})
            self._finish_call({"call_id": f"final-{n}", "ok": True, "summary": e.get("summary")})

    def _show_error(self, code: str, message: str) -> None:
        self.errors.append({"code": code, "message": message})
        self.errors_html.value = "".join(error_html(e["code"], e["message"]) for e in self.errors)

    def _end(self, frame: dict[str, Any]) -> None:
        self.finished = True
        if frame.get("type") != "final":
            self._render_answer(streaming=False)
        seconds = time.monotonic() - self.started
        n = len(self.calls)
        parts = [f"{n} TWS call{'s' * (n != 1)}", f"{seconds:.1f} s"]
        if self.final is not None:
            if self.final.get("subject"):
                parts.append(f"about {self.final['subject']}")
            memory_id = self.final.get("memory_id")
            parts.append(f"remembered as {memory_id}" if memory_id else "not remembered")
        else:
            parts.append("stopped" if frame.get("code") == "stopped" else "failed")
        self.status_html.value = note_html(" · ".join(parts))
        self._done.set()
