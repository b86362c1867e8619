"""Run one agent turn with live tool events and a token stream: the chat turn's entry point.

How the chat turn calls an agent::

    program = registry.create(agent_id, tools)          # tools = build_tools(tws_client)
    lm = registry.lm_for(agent_id)
    result = await run_agent_streaming(program, lm, question=q, context=past_turns,
                                       on_event=send)  # send(event) -> awaitable
    # events, in order of occurrence (add the turn's "id" to make them WebSocket frames):
    #   {"type": "tool_call", "call_id", "tool", "args"}
    #   {"type": "tool_result", "call_id", "tool", "ok", "summary"}
    #   {"type": "token", "content"}
    #   {"type": "stage", "stage"}   found | writing | checking (evidence-mode programs)
    # result.answer == "".join(every token's content); result.evidence = [{"tool","args","summary"}]

Cancelling the task that awaits this stops the LM at its next token (the local engine checks).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from resync_ext.agents.protocols import AgentProgram, JudgeProgram, StreamingProgram
from resync_ext.redact import mask_secrets


class ToolCallEvent(TypedDict):
    """The agent called a tool (arguments masked)."""

    type: Literal["tool_call"]
    call_id: str
    tool: str
    args: dict[str, Any]


class ToolResultEvent(TypedDict):
    """A tool answered; ``ok`` False for an error reported as data."""

    type: Literal["tool_result"]
    call_id: str
    tool: str
    ok: bool
    summary: str


class TokenEvent(TypedDict):
    """A piece of the answer text."""

    type: Literal["token"]
    content: str


class StageEvent(TypedDict):
    """The program reached a stage of its turn (``found``, ``writing``, ``checking``)."""

    type: Literal["stage"]
    stage: str


AgentEvent = ToolCallEvent | ToolResultEvent | TokenEvent | StageEvent
OnEvent = Callable[[AgentEvent], Awaitable[None]]


@dataclass
class AgentResult:
    """The outcome of one agent turn."""

    answer: str
    evidence: list[dict[str, Any]]
    prediction: Any
    tool_calls: list[str] = field(default_factory=list)
    first_token_s: float | None = None
    total_s: float = 0.0
    tokens: int = 0


class _TokenSink:
    """Forward answer text, trimming leading and trailing whitespace as it streams."""

    def __init__(self, on_event: OnEvent | None) -> None:
        self.on_event = on_event
        self.sent: list[str] = []
        self.pending = ""
        self.first_at: float | None = None

    async def push(self, text: str) -> None:
        if not text:
            return
        if not self.sent:
            text = (self.pending + text).lstrip()
            self.pending = ""
            if not text:
                return
        else:
            text = self.pending + text
        body = text.rstrip()
        self.pending = text[len(body) :]
        if body:
            await self._send(body)

    async def _send(self, text: str) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()
        self.sent.append(text)
        if self.on_event is not None:
            await self.on_event(TokenEvent(type="token", content=text))

    @property
    def text(self) -> str:
        return "".join(self.sent)


def _chunk_text(chunk: Any) -> str:
    try:
        return chunk.choices[0].delta.content or ""
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""


async def run_agent_streaming(
    agent: AgentProgram,
    lm: Any,
    *,
    question: str,
    context: Sequence[str] = (),
    on_event: OnEvent | None = None,
    history: bool = True,
    subject: str | None = None,
    earlier: Sequence[str] = (),
) -> AgentResult:
    """Ask ``agent`` on ``lm``; stream tool events and answer tokens to ``on_event``.

    ``subject`` and ``earlier`` (the conversation's subject and its earlier evidence) go to a
    program whose ``aforward`` takes them (resync_ext.agents.explain.EvidenceAgent); others
    answer the question alone.

    ``history=False`` keeps the call out of DSPy's LM histories (up to 10 000 prompts each, kept
    in memory): a long-running server has no reader for them.
    """
    import dspy
    from dspy.streaming import StatusMessage, StreamResponse

    t0 = time.perf_counter()
    sink = _TokenSink(on_event)
    calls: list[str] = []

    async def on_tool(event: dict[str, Any]) -> None:
        frame: AgentEvent
        if event["phase"] == "text":
            # Answer text a program writes itself (facts by code, a checked explanation).
            await sink.push(str(event["text"]))
            return
        if event["phase"] == "stage":
            if on_event is not None:
                await on_event(StageEvent(type="stage", stage=str(event["stage"])))
            return
        if event["phase"] == "call":
            calls.append(event["tool"])
            frame = ToolCallEvent(
                type="tool_call", call_id=event["call_id"], tool=event["tool"], args=event["args"]
            )
        else:
            frame = ToolResultEvent(
                type="tool_result",
                call_id=event["call_id"],
                tool=event["tool"],
                ok=event["ok"],
                summary=event["summary"],
            )
        if on_event is not None:
            await on_event(frame)

    listeners = list(agent.stream_listeners()) if isinstance(agent, StreamingProgram) else []
    raw_ids = set() if listeners else {id(p) for p in agent.answer_predictors()}
    streaming = dspy.streamify(agent, stream_listeners=listeners or None, is_async_program=True)
    prediction: Any = None
    extra: dict[str, Any] = {}
    accepts = inspect.signature(agent.aforward).parameters if hasattr(agent, "aforward") else {}
    if subject and "subject" in accepts:
        extra["subject"] = subject
    if earlier and "earlier" in accepts:
        extra["earlier"] = [mask_secrets(e) for e in earlier]
    with dspy.context(lm=lm, disable_history=not history):
        async for item in streaming(
            question=mask_secrets(question),
            context=[mask_secrets(c) for c in context],
            on_tool=on_tool,
            **extra,
        ):
            if isinstance(item, dspy.Prediction):
                prediction = item
            elif isinstance(item, StreamResponse):
                if item.signature_field_name == "answer":
                    await sink.push(item.chunk)
            elif isinstance(item, StatusMessage):
                continue
            elif getattr(item, "predict_id", None) in raw_ids:
                await sink.push(_chunk_text(item))
    if prediction is None:
        raise RuntimeError("the agent finished without a prediction")
    if not sink.sent:
        # A cache hit (or a program that did not stream) still shows its answer as one token.
        await sink.push(str(prediction.answer or ""))
    return AgentResult(
        answer=sink.text,
        evidence=list(getattr(prediction, "evidence", None) or []),
        prediction=prediction,
        tool_calls=calls,
        first_token_s=None if sink.first_at is None else sink.first_at - t0,
        total_s=time.perf_counter() - t0,
        tokens=len(sink.sent),
    )


def make_judge(
    program: JudgeProgram, lm: Any, *, history: bool = True
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Return the auditor's judge callable: ``await judge(question=, answer=, evidence=)``.

    The result is ``{"verdict", "confidence", "reason"}``; an unparseable verdict raises
    ``resync_ext.agents.errors.JudgeOutputError`` (a ValueError), which the auditor retries once.
    ``history`` as for ``run_agent_streaming``.
    """
    import dspy

    async def judge(*, question: str, answer: str, evidence: list[Any]) -> dict[str, Any]:
        rows = [e if isinstance(e, dict) else dict(e) for e in evidence]
        with dspy.context(lm=lm, disable_history=not history):
            out = await program.acall(
                question=mask_secrets(question), answer=mask_secrets(answer), evidence=rows
            )
        return {"verdict": out.verdict, "confidence": out.confidence, "reason": out.reason}

    return judge
