"""auto: the chat panel's default agent, one entry point for every question.

It answers nothing itself: a question about the whole plan goes to the plan analyzer, a question
about one object to the troubleshooter (resync_ext.agents.routing says which, by the
troubleshooter's own name resolution). The agents it hands questions to are named in
config/runtime.json (``"routes"``) and built by the registry as if they were asked directly, with
their own tools, demos and LM; the answer says which of them answered (``agent`` on the
prediction, the ``final`` frame's ``agent``), and the turn is remembered under that agent, so a
reviewer sees who wrote it and an approved answer teaches the program that wrote it.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import dspy

from resync_ext.agents.routing import Delegate, route
from resync_ext.agents.toolbox import OnTool, ToolFn


class Auto(dspy.Module):
    """Hand each question to the agent that answers its kind: plan-wide or about one object."""

    def __init__(
        self,
        tools: Mapping[str, ToolFn],
        max_iters: int = 8,
        mode: str = "evidence",
        delegates: Mapping[str, Delegate] | None = None,
    ) -> None:
        super().__init__()
        self._delegates = dict(delegates or {})

    def answer_predictors(self) -> list[Any]:
        """None: the agent answering streams its own text."""
        return []

    def stream_listeners(self) -> list[Any]:
        """None: which agent answers is known only once the question is read."""
        return []

    def learn(self, examples: Sequence[dict[str, Any]]) -> None:
        """Nothing to learn: turns are remembered, and approved, under the agent that answered."""

    async def aforward(
        self,
        question: str,
        context: Sequence[str] = (),
        on_tool: OnTool | None = None,
        subject: str = "",
        earlier: Sequence[str] = (),
    ) -> dspy.Prediction:
        """Route ``question`` and let the agent for it answer. ``subject`` and ``earlier`` (the
        conversation's) decide a follow-up that names nothing ("what does it block?") and go on
        to the agent when it takes them."""
        where = route(question, subject or None)
        delegate = self._delegates.get(where.kind)
        if delegate is None:
            raise LookupError(
                f"auto has no agent for {where.kind!r} questions; "
                "name one under its routes in config/runtime.json"
            )
        takes = inspect.signature(delegate.program.aforward).parameters
        extra: dict[str, Any] = {}
        if subject and "subject" in takes:
            extra["subject"] = subject
        if earlier and "earlier" in takes:
            extra["earlier"] = list(earlier)
        use_lm = dspy.context(lm=delegate.lm) if delegate.lm is not None else None
        with use_lm or contextlib.nullcontext():
            out = await delegate.program.acall(
                question=question, context=context, on_tool=on_tool, **extra
            )
        out.agent = delegate.agent_id
        out.route = where.kind
        return out
