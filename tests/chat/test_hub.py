"""The chat hub: open sockets join and leave; a reload in a worker thread reaches them all."""

from __future__ import annotations

import asyncio

import pytest

from resync_ext.chat.frames import ConfigUpdateFrame, OutboundFrame
from resync_ext.chat.hub import ChatHub

pytestmark = pytest.mark.asyncio

AGENT = {
    "id": "tws-troubleshooter",
    "name": "Troubleshooter",
    "description": "Edited while the server runs",
    "tools": ["get_job"],
    "model": None,
}


class Socket:
    """An open chat socket that keeps what it was sent."""

    def __init__(self) -> None:
        self.frames: list[OutboundFrame] = []
        self.got = asyncio.Event()

    def send(self, frame: OutboundFrame) -> None:
        self.frames.append(frame)
        self.got.set()


async def test_a_reload_in_a_worker_thread_reaches_every_open_socket() -> None:
    hub = ChatHub()
    hub.bind(asyncio.get_running_loop())
    first, second, closed = Socket(), Socket(), Socket()
    for sock in (first, second, closed):
        hub.join(sock)
    hub.leave(closed)
    # The registry calls its listeners from the reloading thread.
    await asyncio.to_thread(hub.agents_changed, [AGENT])
    await asyncio.wait_for(asyncio.gather(first.got.wait(), second.got.wait()), 5)
    for sock in (first, second):
        (frame,) = sock.frames
        assert isinstance(frame, ConfigUpdateFrame)
        assert frame.agents[0].description == "Edited while the server runs"
        assert frame.model_dump()["type"] == "config_update"
    assert closed.frames == [] and hub.sockets == {first, second}


async def test_broadcast_counts_the_sockets_told() -> None:
    hub = ChatHub()
    sock = Socket()
    hub.join(sock)
    hub.join(sock)  # joining twice is one socket
    assert hub.broadcast(ConfigUpdateFrame(agents=[])) == 1
    hub.leave(sock)
    hub.leave(sock)  # leaving twice is fine
    assert hub.broadcast(ConfigUpdateFrame(agents=[])) == 0
