"""WS /resync/api/chat/{agent_id}: the analyst's chat, one task per turn (SPEC.md section 4).

The socket loop only parses frames and starts or cancels turn tasks; it never waits on a turn.
Every problem is an ``error`` frame and the socket stays open for the next turn. Each socket opens
a conversation (its id in ``ready``); a ``chat`` frame naming another, live one with the same
agent resumes it (after a reconnect), and the socket goes on in it. Limits:
a frame over 64 KiB is refused with ``too_large`` (tornado itself closes the socket only past
``MAX_WIRE_BYTES``); at most ``MAX_TURNS_PER_SOCKET`` turns run at once on one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from resync_ext.agents.errors import AgentConfigError, AgentNotFound
from resync_ext.chat.errors import FrameError, TurnFailed
from resync_ext.chat.frames import (
    ChatFrame,
    ErrorFrame,
    OutboundFrame,
    ReadyFrame,
    parse_frame,
    to_wire,
)
from resync_ext.errors import Unavailable
from resync_ext.handlers.base import ServiceHandler
from resync_ext.handlers.permissions import READ

MAX_TURNS_PER_SOCKET = 4
MAX_WIRE_BYTES = 1 << 20


class ChatHandler(WebSocketMixin, WebSocketHandler, ServiceHandler):
    """One analyst's chat socket with one agent."""

    #: Authorised in ServiceHandler.prepare, before the upgrade (403, no socket, when refused).
    permissions = {"get": READ}

    def set_default_headers(self) -> None:
        """No HTML security headers on a WebSocket upgrade (as Jupyter's kernel socket)."""

    def get_compression_options(self) -> dict[str, object] | None:
        """Use the server's WebSocket compression settings."""
        options: dict[str, object] | None = self.settings.get("websocket_compression_options")
        return options

    @property
    def max_message_size(self) -> int:
        """Accept frames up to 1 MiB on the wire so oversize ones get an error frame."""
        return MAX_WIRE_BYTES

    @ws_authenticated
    async def get(self, agent_id: str) -> None:
        """Authenticate, check the agent exists (404 before the upgrade), then upgrade."""
        try:
            turns, registry, hub = self.turns, self.agents, self.chat_hub
        except Unavailable as e:
            raise web.HTTPError(503, "the chat service is not available") from e
        try:
            self.agent = registry.get(agent_id)
        except AgentNotFound as e:
            raise web.HTTPError(404, "unknown agent %s", agent_id) from e
        except AgentConfigError as e:
            raise web.HTTPError(503, "no agents: %s", e.message) from e
        self.agent_id = agent_id
        self.turns_service = turns
        self.hub = hub
        self.tasks: dict[str, asyncio.Task[None]] = {}
        await super().get(agent_id)

    def open(self, *args: str, **kwargs: str) -> None:
        """Greet with the agent's description and join the config broadcast."""
        super().open()
        # Frames are small and come in bursts (tool events, tokens): with Nagle's algorithm on,
        # each burst after the first waited for the client's delayed ACK, ~40 ms on Linux.
        self.set_nodelay(True)
        self.hub.join(self)
        self.conversation = self.turns_service.conversations.new(self.agent_id)
        self.send(ReadyFrame(agent=self.agent.info(), conversation=self.conversation.id))

    def send(self, frame: OutboundFrame) -> None:
        """Write a frame; a socket closed meanwhile is not an error."""
        with contextlib.suppress(WebSocketClosedError):
            self.write_message(to_wire(frame))

    async def asend(self, frame: OutboundFrame) -> None:
        """The turn's sender."""
        self.send(frame)

    def on_message(self, message: str | bytes) -> None:
        """Parse one frame and start or stop a turn; never waits on a turn."""
        try:
            frame = parse_frame(message)
        except FrameError as e:
            self.send(ErrorFrame(code=e.code, message=e.message, id=e.frame_id))
            return
        if frame.type == "stop":
            task = self.tasks.get(frame.id)
            if task is None:
                self.send(_error("unknown_turn", f"no turn {frame.id!r} is running", frame.id))
            else:
                task.cancel()
            return
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

    def _resume(self, frame: ChatFrame) -> None:
        """Continue the conversation the frame names; an unknown one is a warning (the turn
        runs in the socket's own conversation, whose id its ``final`` carries)."""
        if frame.conversation is None or frame.conversation == self.conversation.id:
            return
        try:
            self.conversation = self.turns_service.conversations.resume(
                frame.conversation, self.agent_id
            )
        except TurnFailed as e:
            self.send(_error(e.code, e.message, frame.id))

    async def _turn(self, frame: ChatFrame) -> None:
        try:
            self._resume(frame)
            await self.turns_service.run(
                self.agent_id,
                frame.id,
                frame.content,
                self.asend,
                conversation=self.conversation.id,
            )
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
        hub = getattr(self, "hub", None)
        if hub is not None:
            hub.leave(self)


def _error(code: str, message: str, frame_id: str) -> ErrorFrame:
    return ErrorFrame(code=code, message=message, id=frame_id)


routes = [(r"/resync/api/chat/(?P<agent_id>[^/]+)", ChatHandler)]
