"""WS /resync/api/chat/{agent_id}: the analyst's chat, one task per turn (SPEC.md section 4).

The socket loop only parses frames and starts or cancels turn tasks; it never waits on a turn.
Every problem is an ``error`` frame and the socket stays open for the next turn. Limits:
a frame over 64 KiB is refused with ``too_large`` (tornado itself closes the socket only past
``MAX_WIRE_BYTES``); at most ``MAX_TURNS_PER_SOCKET`` turns run at once on one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from resync_ext.agents.errors import AgentConfigError, AgentNotFound
from resync_ext.chat.frames import ChatFrame, FrameError, parse_frame
from resync_ext.chat.turns import TurnFailed

MAX_TURNS_PER_SOCKET = 4
MAX_WIRE_BYTES = 1 << 20


class ChatHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """One analyst's chat socket with one agent."""

    def set_default_headers(self) -> None:
        """No HTML security headers on a WebSocket upgrade (as Jupyter's kernel socket)."""

    def get_compression_options(self) -> dict[str, Any] | None:
        """Use the server's WebSocket compression settings."""
        return self.settings.get("websocket_compression_options", None)

    @property
    def max_message_size(self) -> int:
        """Accept frames up to 1 MiB on the wire so oversize ones get an error frame."""
        return MAX_WIRE_BYTES

    @ws_authenticated
    async def get(self, agent_id: str) -> None:
        """Authenticate, check the agent exists (404 before the upgrade), then upgrade."""
        turns = self.settings.get("resync_turns")
        registry = self.settings.get("resync_agents")
        if turns is None or registry is None:
            raise web.HTTPError(503, "the chat service is not available")
        try:
            self.agent = registry.get(agent_id)
        except AgentNotFound as e:
            raise web.HTTPError(404, "unknown agent %s", agent_id) from e
        except AgentConfigError as e:
            raise web.HTTPError(503, "no agents: %s", e.message) from e
        self.agent_id = agent_id
        self.turns_service = turns
        self.tasks: dict[str, asyncio.Task[None]] = {}
        await super().get(agent_id)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Greet with the agent's description and join the config broadcast."""
        super().open()
        # Frames are small and come in bursts (tool events, tokens): with Nagle's algorithm on,
        # each burst after the first waited for the client's delayed ACK, ~40 ms on Linux.
        self.set_nodelay(True)
        self.settings.setdefault("resync_chat_sockets", set()).add(self)
        self.send({"type": "ready", "agent": self.agent.public()})

    def send(self, frame: dict[str, Any]) -> None:
        """Write a frame; a socket closed meanwhile is not an error."""
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(json.dumps(frame, default=str))

    async def asend(self, frame: dict[str, Any]) -> None:
        """The turn's sender."""
        self.send(frame)

    def on_message(self, message: str | bytes) -> None:
        """Parse one frame and start or stop a turn; never waits on a turn."""
        try:
            frame = parse_frame(message)
        except FrameError as e:
            self.send(_error(e.code, e.message, e.frame_id))
            return
        if frame.type == "stop":
            task = self.tasks.get(frame.id)
            if task is None:
                self.send(_error("unknown_turn", f"no turn {frame.id!r} is running", frame.id))
            else:
                task.cancel()
            return
        assert isinstance(frame, ChatFrame)
        if frame.id in self.tasks:
            self.send(_error("duplicate_id", f"turn {frame.id!r} is already running", frame.id))
            return
        if len(self.tasks) >= MAX_TURNS_PER_SOCKET:
            self.send(
                _error(
                    "too_many_turns",
                    f"{MAX_TURNS_PER_SOCKET} turns are already running on this socket; "
                    "wait for one to finish or stop one",
                    frame.id,
                )
            )
            return
        task = asyncio.create_task(self._turn(frame), name=f"resync-turn-{frame.id}")
        self.tasks[frame.id] = task
        task.add_done_callback(functools.partial(self._forget, frame.id))

    def _forget(self, turn_id: str, _task: asyncio.Task[None]) -> None:
        self.tasks.pop(turn_id, None)

    async def _turn(self, frame: ChatFrame) -> None:
        try:
            await self.turns_service.run(self.agent_id, frame.id, frame.content, self.asend)
        except asyncio.CancelledError:
            self.send(_error("stopped", "the turn was stopped", frame.id))
        except TurnFailed as e:
            self.send(_error(e.code, e.message, frame.id))
        except Exception as e:
            self.log.exception("chat turn %s failed", frame.id)
            self.send(_error("internal", f"the turn failed: {type(e).__name__}", frame.id))

    def on_close(self) -> None:
        """Cancel this socket's turns and leave the broadcast."""
        for task in list(getattr(self, "tasks", {}).values()):
            task.cancel()
        self.settings.get("resync_chat_sockets", set()).discard(self)


def _error(code: str, message: str, frame_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if frame_id is not None:
        frame["id"] = frame_id
    return frame


def broadcast_config(settings: dict[str, Any], agents: list[dict[str, Any]]) -> int:
    """Send ``config_update`` to every open chat socket; return how many got it."""
    sockets = list(settings.get("resync_chat_sockets", ()))
    for sock in sockets:
        sock.send({"type": "config_update", "agents": agents})
    return len(sockets)


routes = [(r"/resync/api/chat/(?P<agent_id>[^/]+)", ChatHandler)]
