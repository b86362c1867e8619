"""Chat WebSocket frames (SPEC.md section 4), both ways.

Client frames (``chat``, ``stop``) are parsed at the door into a discriminated union. Server
frames (``ready``, ``queued``, ``stage``, ``token``, ``tool_call``, ``tool_result``, ``final``,
``error``, ``config_update``) are models too, built only here and written by :func:`to_wire`.
"""

from __future__ import annotations

import json
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from resync_ext.agents.registry import AgentInfo
from resync_ext.agents.runner import AgentEvent
from resync_ext.chat.errors import FrameError

MAX_FRAME_BYTES = 64 * 1024


class ChatFrame(BaseModel):
    """Ask one question; ``id`` is the client's, echoed on every frame of the turn."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["chat"]
    id: str = Field(min_length=1, max_length=128)
    content: str = Field(min_length=1)
    #: Resume this conversation (the id a ``ready`` or ``final`` frame gave, before a reconnect).
    conversation: str | None = Field(default=None, min_length=1, max_length=128)


class StopFrame(BaseModel):
    """Cancel the turn with this ``id``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["stop"]
    id: str = Field(min_length=1, max_length=128)


ClientFrame = Annotated[ChatFrame | StopFrame, Field(discriminator="type")]
_ADAPTER: TypeAdapter[ChatFrame | StopFrame] = TypeAdapter(ClientFrame)


def parse_frame(raw: str | bytes) -> ChatFrame | StopFrame:
    """Parse one client message or raise FrameError with a code a client can act on."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame of {size} bytes is over the {MAX_FRAME_BYTES} limit")
    try:
        data: object = json.loads(raw)
    except ValueError as e:
        raise FrameError("bad_json", f"frame is not valid JSON: {e}") from e
    except RecursionError as e:  # thousands of nested brackets
        raise FrameError("bad_json", "frame is nested too deeply") from e
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "frame must be a JSON object")
    raw_id = data.get("id")
    frame_id = raw_id if isinstance(raw_id, str) else None
    kind = data.get("type")
    if kind not in ("chat", "stop"):
        raise FrameError("unknown_type", f"unknown frame type {kind!r}", frame_id)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "frame"
        raise FrameError("bad_frame", f"{where}: {err.get('msg')}", frame_id) from e


# -- server frames ------------------------------------------------------------------------------
def _plain(value: object) -> object:
    """JSON-able data as the wire carries it (tuples as lists, anything else as its text)."""
    return json.loads(json.dumps(value, default=str))


#: Tool arguments and evidence rows: whatever the agent recorded, as plain JSON.
JsonObject = Annotated[dict[str, JsonValue], BeforeValidator(_plain)]


class ServerFrame(BaseModel):
    """Base of the frames the server sends; fields named in ``_omit_none`` are left out when
    None (``error`` without a turn id, the optional ``final`` fields not filled in)."""

    model_config = ConfigDict(extra="forbid")

    _omit_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        for name in self._omit_none:
            if data.get(name, 0) is None:
                del data[name]
        return data


class ReadyFrame(ServerFrame):
    """The socket is open: the agent it talks to and the socket's new conversation."""

    _omit_none = frozenset({"conversation"})

    type: Literal["ready"] = "ready"
    agent: AgentInfo
    conversation: str | None = None


class QueuedFrame(ServerFrame):
    """The turn waits for a free place, at ``position`` in the queue (1: next to start); sent
    again each time it moves up, then the ``stage`` frame ``reading`` says it started."""

    type: Literal["queued"] = "queued"
    id: str
    position: int


#: What each stage of a turn is called on the panel, in the order they come.
STAGES = {
    "reading": "reading the plan",
    "found": "found the facts",
    "writing": "writing",
    "checking": "checking the answer",
    "saving": "remembering",
}


class StageFrame(ServerFrame):
    """The turn reached a stage (``STAGES``); ``label`` is how the panel words it."""

    type: Literal["stage"] = "stage"
    id: str
    stage: str
    label: str


class ConfigUpdateFrame(ServerFrame):
    """The agents configuration was reloaded."""

    type: Literal["config_update"] = "config_update"
    agents: list[AgentInfo]


class TokenFrame(ServerFrame):
    """A piece of the answer."""

    type: Literal["token"] = "token"
    id: str
    content: str


class ToolCallFrame(ServerFrame):
    """The agent called a TWS tool."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    call_id: str
    tool: str
    args: JsonObject


class ToolResultFrame(ServerFrame):
    """A TWS tool answered; ``ok`` is False when it reported an error."""

    type: Literal["tool_result"] = "tool_result"
    id: str
    call_id: str
    tool: str
    ok: bool
    summary: str


class ErrorFrame(ServerFrame):
    """Something went wrong; ``id`` names the turn when there is one."""

    _omit_none = frozenset({"id"})

    type: Literal["error"] = "error"
    code: str
    message: str
    id: str | None = None


class ToolTiming(BaseModel):
    """How long one tool call took."""

    tool: str
    ms: float


class TurnTiming(BaseModel):
    """Where a turn's time went, in milliseconds (``store_ms`` only when it was remembered)."""

    agent_id: str
    tools: list[ToolTiming] = Field(default_factory=list)
    retrieval_ms: float = 0.0
    agent_ms: float = 0.0
    lm_ms: float = 0.0
    store_ms: float | None = None
    total_ms: float = 0.0

    @model_serializer(mode="wrap")
    def _drop_store(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if data.get("store_ms", 0) is None:
            del data["store_ms"]
        return data

    def as_dict(self) -> dict[str, object]:
        """The timing as the ``final`` frame, the metrics and the benchmarks read it."""
        return self.model_dump(mode="json")


class FinalFrame(ServerFrame):
    """The turn's answer, its evidence, the past turns it was given and the new memory's id."""

    _omit_none = frozenset({"conversation", "subject", "agent", "grounding"})

    type: Literal["final"] = "final"
    id: str
    content: str
    memory_id: str | None
    evidence: list[JsonObject]
    context: list[str]
    timing: TurnTiming
    conversation: str | None = None
    subject: str | None = None
    agent: str | None = None
    grounding: dict[str, int] | None = None


TurnFrame = TokenFrame | ToolCallFrame | ToolResultFrame | StageFrame
OutboundFrame = ReadyFrame | ConfigUpdateFrame | TurnFrame | QueuedFrame | ErrorFrame | FinalFrame


def stage_frame(turn_id: str, stage: str) -> StageFrame:
    """The frame saying turn ``turn_id`` reached ``stage``."""
    return StageFrame(id=turn_id, stage=stage, label=STAGES.get(stage, stage))


def turn_frame(event: AgentEvent, turn_id: str) -> TurnFrame:
    """The frame of one agent event (tool call, tool result, token) of turn ``turn_id``."""
    if event["type"] == "token":
        return TokenFrame(id=turn_id, content=event["content"])
    if event["type"] == "stage":
        return stage_frame(turn_id, event["stage"])
    if event["type"] == "tool_call":
        return ToolCallFrame(
            id=turn_id, call_id=event["call_id"], tool=event["tool"], args=event["args"]
        )
    return ToolResultFrame(
        id=turn_id,
        call_id=event["call_id"],
        tool=event["tool"],
        ok=event["ok"],
        summary=event["summary"],
    )


def to_wire(frame: OutboundFrame) -> str:
    """The frame as the text of one WebSocket message."""
    return frame.model_dump_json()
