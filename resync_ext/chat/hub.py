"""The open chat sockets: each joins when it opens and leaves when it closes; the hub tells them
all when the agents configuration changes (a ``config_update`` frame)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from resync_ext.agents.registry import AgentInfo
from resync_ext.chat.frames import ConfigUpdateFrame, OutboundFrame


class FrameSink(Protocol):
    """An open chat socket as the hub sees it."""

    def send(self, frame: OutboundFrame) -> None:
        """Write one frame (a socket closed meanwhile is not an error)."""
        ...


class ChatHub:
    """Own the set of open chat sockets and broadcast to them on the server's loop."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logging.getLogger(__name__)
        self._sockets: set[FrameSink] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def sockets(self) -> frozenset[FrameSink]:
        """The sockets open now."""
        return frozenset(self._sockets)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the server's loop: configuration changes arrive from a worker thread."""
        self._loop = loop

    def join(self, socket: FrameSink) -> None:
        """Add an open socket."""
        self._sockets.add(socket)

    def leave(self, socket: FrameSink) -> None:
        """Forget a closed socket (again is fine)."""
        self._sockets.discard(socket)

    def broadcast(self, frame: OutboundFrame) -> int:
        """Send ``frame`` to every open socket; return how many got it."""
        sockets = list(self._sockets)
        for socket in sockets:
            socket.send(frame)
        return len(sockets)

    def agents_changed(self, agents: Sequence[Mapping[str, object]]) -> None:
        """The registry's reload listener: hop onto the server's loop to tell the sockets."""
        frame = ConfigUpdateFrame(agents=[AgentInfo.model_validate(a) for a in agents])
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._announce, frame)

    def _announce(self, frame: ConfigUpdateFrame) -> None:
        n = self.broadcast(frame)
        self.log.info("Resync: agents configuration reloaded; told %d open chat socket(s)", n)
