"""One chat WebSocket with an agent (SPEC.md section 4), on the kernel's asyncio loop.

A turn ends with its ``final`` frame, or with an ``error`` frame other than the warnings
``tws_unavailable`` (the answer that follows is incomplete) and ``unknown_conversation`` (the
conversation to resume expired: the turn starts a new one); after those ``final`` still comes.

The connection follows its conversation: the ``ready`` frame's id, or the one it was asked to
resume, then whatever id each ``final`` frame carries; every ``chat`` frame names it, so a new
socket opened with ``conversation=`` continues where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from resync_ext.kernel.errors import ApiError, ResyncClientError, ServerUnreachable

#: Error codes after which the turn still ends with ``final``.
WARNING_CODES = frozenset({"tws_unavailable", "unknown_conversation"})


def ends_turn(frame: dict[str, Any]) -> bool:
    """True when ``frame`` is the last frame of its turn."""
    kind = frame.get("type")
    return kind == "final" or (kind == "error" and frame.get("code") not in WARNING_CODES)


class ChatConnection:
    """A chat socket: send ``chat``/``stop`` frames, read the server's frames in order."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str],
        verify: bool | str = True,
        connect_timeout: float = 30.0,
        conversation: str | None = None,
    ) -> None:
        self.url = url
        #: The conversation the next turn belongs to (None until the socket greets).
        self.conversation = conversation
        self.headers = headers
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.agent: dict[str, Any] | None = None
        self._fresh: str | None = None  # the conversation this socket opened
        self._closing = False
        self._ws: Any = None

    async def connect(self) -> ChatConnection:
        """Open the socket and read the ``ready`` frame (``self.agent``)."""
        from tornado.httpclient import HTTPClientError, HTTPRequest
        from tornado.websocket import websocket_connect

        request = HTTPRequest(
            self.url,
            headers=self.headers,
            connect_timeout=self.connect_timeout,
            request_timeout=self.connect_timeout,
            validate_cert=self.verify is not False,
            ca_certs=self.verify if isinstance(self.verify, str) else None,
        )
        try:
            self._ws = await websocket_connect(request, max_message_size=1 << 24)
        except HTTPClientError as e:
            raise _handshake_error(e) from e
        except (OSError, TimeoutError) as e:
            raise ServerUnreachable(f"cannot open the chat socket {self.url}: {e}") from e
        hello = await self.recv()
        if hello is None or hello.get("type") != "ready":
            self.close()
            raise ResyncClientError(f"the chat socket did not greet with 'ready': {hello!r}")
        self.agent = hello.get("agent")
        self._fresh = hello.get("conversation")
        self.conversation = self.conversation or self._fresh
        return self

    async def __aenter__(self) -> ChatConnection:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        """True before connecting and once the socket was closed (or began closing)."""
        return self._ws is None or self._ws.protocol is None or self._closing

    async def send(self, frame: dict[str, Any]) -> None:
        """Write one frame."""
        from tornado.websocket import WebSocketClosedError

        if self._ws is None:
            raise ResyncClientError("the chat socket is not connected")
        try:
            await self._ws.write_message(json.dumps(frame))
        except WebSocketClosedError as e:
            raise ServerUnreachable("the chat socket closed") from e

    async def ask(self, turn_id: str, text: str) -> None:
        """Start a turn; its frames carry ``turn_id``."""
        frame = {"type": "chat", "id": turn_id, "content": text}
        if self.conversation:
            frame["conversation"] = self.conversation
        await self.send(frame)

    async def stop(self, turn_id: str) -> None:
        """Cancel a running turn (it ends with an error frame, code ``stopped``)."""
        await self.send({"type": "stop", "id": turn_id})

    async def recv(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next frame, or None once the socket closed."""
        if self._ws is None:
            return None
        async with asyncio.timeout(timeout):
            raw = await self._ws.read_message()
        if raw is None:
            return None
        frame: dict[str, Any] = json.loads(raw)
        if frame.get("type") == "final" and frame.get("conversation"):
            self.conversation = str(frame["conversation"])
        elif frame.get("type") == "error" and frame.get("code") == "unknown_conversation":
            self.conversation = self._fresh
        return frame

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        """Every frame until the socket closes."""
        while (frame := await self.recv()) is not None:
            yield frame

    async def turn_frames(self, turn_id: str) -> AsyncIterator[dict[str, Any]]:
        """The frames of one turn up to its last (frames of other turns are skipped)."""
        while (frame := await self.recv()) is not None:
            if frame.get("id") != turn_id:
                continue
            yield frame
            if ends_turn(frame):
                return
        raise ServerUnreachable("the chat socket closed during the turn")

    def close(self) -> None:
        """Start closing the socket (the loop finishes the closing handshake)."""
        if self._ws is not None:
            self._closing = True
            self._ws.close()

    async def aclose(self, timeout: float = 2.0) -> None:
        """Close the socket and wait until its TCP connection ended (cut it after ``timeout``)."""
        stream = getattr(getattr(self._ws, "protocol", None), "stream", None)
        self.close()
        if stream is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        # Polled: the stream's one close callback belongs to tornado's protocol.
        while not stream.closed() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if not stream.closed():
            stream.close()


def _handshake_error(e: Any) -> ApiError:
    message = {
        403: "the server refused the token",
        404: "unknown agent (not in the server's agents configuration)",
        503: "the chat service is not available",
    }.get(e.code, str(e))
    body = getattr(getattr(e, "response", None), "body", None)
    if body:
        with contextlib.suppress(ValueError, AttributeError):
            message = str(json.loads(body).get("message") or message)
    return ApiError(e.code, message, "handshake")
