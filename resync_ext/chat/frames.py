"""Chat WebSocket frames (SPEC.md section 4): parsed at the door into a discriminated union."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME_BYTES = 64 * 1024


class ChatFrame(BaseModel):
    """Ask one question; ``id`` is the client's, echoed on every frame of the turn."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["chat"]
    id: str = Field(min_length=1, max_length=128)
    content: str = Field(min_length=1)


class StopFrame(BaseModel):
    """Cancel the turn with this ``id``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["stop"]
    id: str = Field(min_length=1, max_length=128)


ClientFrame = Annotated[ChatFrame | StopFrame, Field(discriminator="type")]
_ADAPTER: TypeAdapter[ChatFrame | StopFrame] = TypeAdapter(ClientFrame)


class FrameError(Exception):
    """A client frame that cannot be served; ``code`` goes into the error frame."""

    def __init__(self, code: str, message: str, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


def parse_frame(raw: str | bytes) -> ChatFrame | StopFrame:
    """Parse one client message or raise FrameError with a code a client can act on."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame of {size} bytes is over the {MAX_FRAME_BYTES} limit")
    try:
        data: Any = json.loads(raw)
    except ValueError as e:
        raise FrameError("bad_json", f"frame is not valid JSON: {e}") from e
    except RecursionError as e:  # thousands of nested brackets
        raise FrameError("bad_json", "frame is nested too deeply") from e
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "frame must be a JSON object")
    frame_id = data.get("id") if isinstance(data.get("id"), str) else None
    kind = data.get("type")
    if kind not in ("chat", "stop"):
        raise FrameError("unknown_type", f"unknown frame type {kind!r}", frame_id)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "frame"
        raise FrameError("bad_frame", f"{where}: {err.get('msg')}", frame_id) from e
