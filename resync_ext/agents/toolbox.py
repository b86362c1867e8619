"""Call TWS tools on an agent's behalf: emit events as they happen and record the evidence.

A :class:`ToolRecorder` lives for one agent call. It is found through a context variable, so one
program instance can serve several turns at once (each asyncio task has its own context) and
``dspy.ReAct``'s tools reach the recorder of the turn that called them.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from resync_ext.redact import mask_obj, mask_secrets

ToolFn = Callable[..., Awaitable[Any]]
OnTool = Callable[[dict[str, Any]], Awaitable[None]]
SUMMARY_MAX = 300
_ids = itertools.count(1)
_log = logging.getLogger(__name__)


def is_error(result: Any) -> bool:
    """Tell whether a tool result is an error reported as data."""
    return isinstance(result, dict) and (result.get("ok") is False or "error" in result)


def error_text(result: Any) -> str:
    """Return the message of a tool error result."""
    err = result.get("error") if isinstance(result, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err.get("kind") or err)
    return str(err or result.get("message") or "tool failed")


def summarise(tool: str, result: Any) -> str:
    """Return a one-line, bounded, masked summary of a tool result."""
    from resync_ext.agents.evidence import default_summary

    if is_error(result):
        text = f"error: {error_text(result)}"
    elif isinstance(result, dict) and (sentence := default_summary(tool, result)):
        text = sentence
    elif isinstance(result, dict) and isinstance(result.get("summary"), str):
        text = result["summary"]
    else:
        text = json.dumps(result, default=str, separators=(",", ":"))
    text = mask_secrets(" ".join(text.split()))
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


class ToolRecorder:
    """Run tools for one agent call, emitting call/result events and keeping the evidence."""

    def __init__(self, tools: Mapping[str, ToolFn], on_tool: OnTool | None = None) -> None:
        self.tools = tools
        self.on_tool = on_tool
        self.evidence: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def _emit(self, event: dict[str, Any]) -> None:
        if self.on_tool is None:
            return
        try:
            await self.on_tool(event)
        except Exception:  # a broken observer must not break the agent's answer
            _log.exception("Resync agents: on_tool observer failed")

    async def call(
        self, tool: str, summary: str | Callable[[Any], str] | None = None, **args: Any
    ) -> Any:
        """Call ``tool(**args)``; record ``summary`` (text, or a function of the result)."""
        args = {k: v for k, v in args.items() if v is not None}
        call_id = f"t{next(_ids)}"
        self.calls.append((tool, args))
        await self._emit(
            {"phase": "call", "call_id": call_id, "tool": tool, "args": mask_obj(args)}
        )
        fn = self.tools.get(tool)
        if fn is None:
            result: Any = {
                "ok": False,
                "error": {"kind": "unknown_tool", "message": f"tool {tool} is not available"},
            }
        else:
            try:
                result = await fn(**args)
            except Exception as e:  # tools report errors as data; a raise is still one to show
                _log.warning("Resync agents: tool %s raised %s", tool, type(e).__name__)
                result = {
                    "ok": False,
                    "error": {"kind": "internal", "message": f"{type(e).__name__}: {e}"},
                }
        ok = not is_error(result)
        # Tools mask engine text (logs, commands) themselves; a summary function only rephrases it.
        if callable(summary):
            text = summary(result) if ok else summarise(tool, result)
        else:
            text = summary if (summary and ok) else summarise(tool, result)
        self.evidence.append({"tool": tool, "args": mask_obj(args), "summary": text})
        await self._emit(
            {
                "phase": "result",
                "call_id": call_id,
                "tool": tool,
                "args": mask_obj(args),
                "ok": ok,
                "summary": text,
            }
        )
        return result


current_recorder: contextvars.ContextVar[ToolRecorder | None] = contextvars.ContextVar(
    "resync_tool_recorder", default=None
)
