"""The analyst's chat panel: pick an agent, ask, watch the answer and its evidence stream in.

Pure ipywidgets (JupyterLab and the classic notebook alike). Streaming runs as asyncio tasks on the
kernel's own loop, so the panel stays responsive: Stop works while an answer streams. One socket
per agent is kept open and shared by that agent's turns; frames are routed by their turn id.

The turns with one agent form a conversation on the server (a follow-up such as "and its log?"
is about the previous answer's subject). The panel shows which one and what it is about, resumes
it when it has to open a new socket (the id goes with each question), and "New conversation"
starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Coroutine
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.chat_socket import ChatConnection
from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.widgets.chat_turn import TurnView
from resync_ext.kernel.widgets.render import error_html, note_html
from resync_ext.kernel.widgets.suggestions import SuggestionsView


class ChatPanel(widgets.VBox):
    """Chat with a Resync agent; every turn stays visible with its evidence."""

    def __init__(self, client: ResyncClient | None = None, agent: str | None = "auto") -> None:
        self.client = client or ResyncClient()
        self.turns: list[TurnView] = []
        self._views: dict[str, TurnView] = {}
        self._conns: dict[str, ChatConnection] = {}
        self._sent_on: dict[str, ChatConnection] = {}  # the socket each turn was asked on
        self._connecting: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._numbers = itertools.count(1)
        self._session = uuid.uuid4().hex[:6]
        self._agents: list[dict[str, Any]] = []
        self.agent_picker = widgets.Dropdown(description="Agent", layout={"width": "auto"})
        self.agent_about = widgets.HTML()
        self.history = widgets.VBox()
        self.input = widgets.Text(
            placeholder="Ask about the plan, a job or a failure, then press Enter",
            continuous_update=False,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.send_button = widgets.Button(description="Send", button_style="primary", icon="send")
        self.stop_button = widgets.Button(
            description="Stop", button_style="warning", icon="stop", disabled=True
        )
        self.status = widgets.HTML()
        #: The conversation of each agent's turns (ids from the server's frames).
        self.conversations: dict[str, str] = {}
        self._subjects: dict[str, str] = {}
        self.conversation_html = widgets.HTML()
        self.new_button = widgets.Button(
            description="New conversation",
            icon="plus",
            tooltip="Forget what this chat was about",
            layout=widgets.Layout(width="auto"),
        )
        self.new_button.on_click(lambda _b: self.new_conversation())
        # An empty chat offers questions about tonight's plan; a click asks one.
        self.suggestions = SuggestionsView(self.client, on_pick=self.send)
        self._set_agents(self.client.agents(), agent)
        self.agent_picker.observe(self._on_agent, names="value")
        self._show_conversation()
        self.input.observe(self._on_input, names="value")
        self.send_button.on_click(lambda _b: self.send())
        self.stop_button.on_click(lambda _b: self.stop())
        super().__init__(
            [
                widgets.HBox([self.agent_picker, self.agent_about]),
                widgets.HBox([self.conversation_html, self.new_button]),
                self.suggestions,
                self.history,
                widgets.HBox([self.input, self.send_button, self.stop_button]),
                self.status,
            ]
        )
        self.add_class("resync-chat")
        suggesting = self.suggestions.refresh()
        if suggesting is not None:
            self._tasks.add(suggesting)
            suggesting.add_done_callback(self._tasks.discard)

    # -- user actions -----------------------------------------------------------------------------
    def send(self, text: str | None = None) -> TurnView | None:
        """Ask ``text`` (default: the input box) and stream the answer; return the new turn."""
        question = (self.input.value if text is None else text).strip()
        if not question:
            return None
        agent_id = self.agent_picker.value
        if not agent_id:
            self.status.value = error_html("no_agent", "no agent is configured on the server")
            return None
        _running_loop()  # before anything is shown: a turn needs the loop to stream on
        if text is None:
            self.input.value = ""
        view = TurnView(f"{self._session}-{next(self._numbers)}", agent_id, question)
        self.turns.append(view)
        self._views[view.turn_id] = view
        self.history.children = (*self.history.children, view)
        self.suggestions.hide()
        self._update_buttons()
        self._spawn(self._start(view))
        return view

    def stop(self) -> None:
        """Stop every turn still running."""
        for view in self.running:
            conn = self._conns.get(view.agent_id)
            if conn is not None:
                self._spawn(conn.stop(view.turn_id))

    def new_conversation(self) -> None:
        """Stop the running turns, clear the chat and start a new conversation with the server
        (the next question opens a new socket that resumes nothing; closing the old one stops
        its turns on the server)."""
        for conn in list(self._conns.values()):
            self._spawn(conn.aclose())
        self._conns.clear()
        self.conversations.clear()
        self._subjects.clear()
        self.turns, self._views, self._sent_on = [], {}, {}
        self.history.children = ()
        self._show_conversation()
        self._update_buttons()
        # An empty chat again: offer tonight's questions, as a new panel does.
        self.suggestions.dismissed = False
        suggesting = self.suggestions.refresh()
        if suggesting is not None:
            self._tasks.add(suggesting)
            suggesting.add_done_callback(self._tasks.discard)

    async def ask(self, text: str, timeout: float | None = None) -> TurnView:
        """Send ``text`` and wait for the turn to end (for scripts and tests)."""
        view = self.send(text)
        if view is None:
            raise ValueError("empty question")
        await view.wait(timeout)
        return view

    @property
    def running(self) -> list[TurnView]:
        """Turns still streaming."""
        return [v for v in self.turns if not v.finished]

    async def aclose(self) -> None:
        """Close the sockets and wait until they are closed, then close the panel."""
        for conn in list(self._conns.values()):
            await conn.aclose()
        self.close()

    def close(self) -> None:
        """Close the sockets, the HTTP client and the widgets."""
        for conn in self._conns.values():
            conn.close()
        for task in self._tasks:
            task.cancel()
        self.client.close()
        super().close()

    # -- plumbing ---------------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = _running_loop().create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        except ResyncClientError as e:
            self.status.value = error_html("client", e.message)
        except Exception as e:  # shown in the panel: a widget task has nobody else to tell
            self.status.value = error_html("internal", f"{type(e).__name__}: {e}")

    async def _start(self, view: TurnView) -> None:
        try:
            conn = await self._connection(view.agent_id)
            self._sent_on[view.turn_id] = conn
            await conn.ask(view.turn_id, view.question)
        except ResyncClientError as e:
            view.fail("connection", e.message)
            self._update_buttons()

    async def _connection(self, agent_id: str) -> ChatConnection:
        async with self._connecting.setdefault(agent_id, asyncio.Lock()):
            conn = self._conns.get(agent_id)
            if conn is None or conn.closed:
                # A new socket (first question, or after a disconnect) resumes the conversation.
                resume = self.conversations.get(agent_id)
                conn = await self.client.chat(agent_id, conversation=resume).connect()
                self._conns[agent_id] = conn
                if conn.conversation:
                    self.conversations[agent_id] = conn.conversation
                self._spawn(self._read(agent_id, conn))
            return conn

    async def _read(self, agent_id: str, conn: ChatConnection) -> None:
        try:
            async for frame in conn:
                self._dispatch(frame)
        finally:
            # Also when the reader is cancelled (panel closed, loop ending): end the TCP link.
            with contextlib.suppress(asyncio.CancelledError):
                await conn.aclose()
            if self._conns.get(agent_id) is conn:
                del self._conns[agent_id]
            # Only this socket's turns: a question sent meanwhile went on a new one.
            for view in self.running:
                if self._sent_on.get(view.turn_id) is conn:
                    view.fail("disconnected", "the chat socket closed; send again to reconnect")
            self._update_buttons()

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "config_update":
            self._set_agents(list(frame.get("agents") or []), self.agent_picker.value)
            return
        view = self._views.get(str(frame.get("id")))
        if view is None:
            if kind == "error":
                self.status.value = error_html(str(frame.get("code")), str(frame.get("message")))
            return
        ended = view.apply(frame)
        if kind == "final" and frame.get("conversation"):
            self._follow(view.agent_id, frame)
        if ended:
            self._update_buttons()
            if view.final and view.final.get("context"):
                self._spawn(self._show_context(view, list(view.final["context"])))

    def _follow(self, agent_id: str, final: dict[str, Any]) -> None:
        """Keep the conversation the server says the turn belonged to, and its subject."""
        conversation = str(final["conversation"])
        if self.conversations.get(agent_id) != conversation:
            self._subjects.pop(agent_id, None)  # the old one expired: a new one began
        self.conversations[agent_id] = conversation
        if final.get("subject"):
            self._subjects[agent_id] = str(final["subject"])
        self._show_conversation()

    def _show_conversation(self) -> None:
        agent_id = self.agent_picker.value
        conversation = self.conversations.get(agent_id) if agent_id else None
        if conversation is None:
            self.conversation_html.value = note_html("A new conversation: no question yet")
            return
        turns = sum(1 for v in self.turns if v.agent_id == agent_id and v.final is not None)
        subject = self._subjects.get(agent_id)
        about = f", about {subject}" if subject else ""
        self.conversation_html.value = note_html(
            f"Conversation {conversation[:8]}: {turns} turn{'s' * (turns != 1)}{about}"
        )

    async def _show_context(self, view: TurnView, ids: list[str]) -> None:
        view.show_context(await asyncio.to_thread(self._memories, ids))

    def _memories(self, ids: list[str]) -> list[dict[str, Any]]:
        found = []
        for memory_id in ids:
            try:
                found.append(self.client.memory(memory_id))
            except ResyncClientError:  # forgotten since: still say it was used
                found.append({"id": memory_id, "metadata": {"question": memory_id}})
        return found

    def _set_agents(self, agents: list[dict[str, Any]], keep: str | None) -> None:
        self._agents = agents
        ids = [a["id"] for a in agents]
        self.agent_picker.options = [(a.get("name") or a["id"], a["id"]) for a in agents]
        # A Dropdown given new options selects nothing: keep the agent, else take the first.
        self.agent_picker.value = keep if keep in ids else (ids[0] if ids else None)
        self._describe(self.agent_picker.value)
        if not agents:
            self.status.value = error_html("no_agent", "the server has no agents configured")

    def _describe(self, agent_id: str | None) -> None:
        agent = next((a for a in self._agents if a["id"] == agent_id), None)
        self.agent_about.value = note_html(agent.get("description") or "") if agent else ""

    def _on_agent(self, change: dict[str, Any]) -> None:
        self._describe(change["new"])
        self._show_conversation()

    def _on_input(self, change: dict[str, Any]) -> None:
        # continuous_update=False: the value arrives on Enter (or when the box loses focus).
        if str(change["new"]).strip():
            self.send()

    def _update_buttons(self) -> None:
        self.stop_button.disabled = not self.running


def _running_loop() -> asyncio.AbstractEventLoop:
    """The kernel's loop (comm callbacks and cells run on it); a clear error outside of one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError as e:
        raise ResyncClientError(
            "the chat panel streams on a running asyncio loop: use it in a Jupyter kernel "
            "(or call `await panel.ask(...)` from async code)"
        ) from e
