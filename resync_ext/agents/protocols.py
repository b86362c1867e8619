"""What the server requires of an agent program (agents/*.py), written down as Protocols.

The registry builds a program, the runner streams it, the demo learner teaches it; each relies on
the methods below, and the registry refuses a configured class that lacks one when it loads the
configuration (a clear error naming the method, instead of a failure in the middle of a turn).

    program = Class(tools={name: fn}, max_iters=8, mode="evidence")   # the registry
    program.learn([{question, answer, evidence}, ...])                # the demo learner
    program.named_predictors()                                        # demos saved / applied
    program.answer_predictors()                                       # whose output streams
    await program.acall(question=..., context=[...], on_tool=...)     # the runner, via DSPy

A program whose answer comes from a predictor with field markers (``dspy.ReAct``'s extract step)
also implements :class:`StreamingProgram`: its stream listeners pick the answer field out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

# A tool as programs receive it: an async function of its own keyword arguments answering
# JSON-like data (the registry hands each program the ones it is configured with).
from resync_ext.agents.toolbox import ToolFn

__all__ = ["AgentProgram", "JudgeProgram", "StreamingProgram", "ToolFn"]

#: The recorder's event observer (``{"phase": "call" | "result", ...}``).
OnTool = Callable[[dict[str, object]], Awaitable[None]]


class Demo(Protocol):
    """One few-shot demonstration (a ``dspy.Example``): its fields by name."""

    def keys(self) -> Iterable[str]:
        """The field names."""
        ...

    def __getitem__(self, key: str) -> object:
        """One field's value."""
        ...


class Signature(Protocol):
    """A DSPy signature as the demo store reads it."""

    input_fields: Mapping[str, object]


class Predictor(Protocol):
    """A DSPy predictor as the demo store reads it: its signature's inputs and its demos."""

    demos: list[Demo]
    signature: Signature


class Prediction(Protocol):
    """What a program's call returns: the answer and the recorded evidence."""

    answer: str


class AgentProgram(Protocol):
    """A chat agent: what the registry, the runner and the demo learner call on a program."""

    def answer_predictors(self) -> list[object]:
        """The predictors whose raw output is the answer text (streamed token by token)."""
        ...

    def named_predictors(self) -> list[tuple[str, Predictor]]:
        """Every predictor with its name (DSPy's ``Module.named_predictors``)."""
        ...

    def learn(self, examples: Sequence[Mapping[str, object]]) -> None:
        """Use approved turns (``{question, answer, evidence}``) as few-shot demos."""
        ...

    def acall(
        self, *, question: str, context: Sequence[str] = (), on_tool: OnTool | None = None
    ) -> Awaitable[Prediction]:
        """Answer one question, reporting each tool call to ``on_tool``."""
        ...


@runtime_checkable
class StreamingProgram(Protocol):
    """A program that names DSPy stream listeners for its answer field."""

    def stream_listeners(self) -> list[object]:
        """Listeners for the answer field (may be empty, e.g. in evidence mode)."""
        ...


class JudgeProgram(Protocol):
    """The auditor's judge program (agents/judge.py)."""

    def named_predictors(self) -> list[tuple[str, Predictor]]:
        """Every predictor with its name (reviewers' counter-examples are applied to them)."""
        ...

    def acall(
        self, *, question: str, answer: str, evidence: list[dict[str, object]]
    ) -> Awaitable[JudgeOutput]:
        """Judge one remembered turn."""
        ...


class JudgeOutput(Protocol):
    """The judge program's prediction: a verdict name, a confidence and a reason."""

    verdict: str
    confidence: float
    reason: str


#: The methods :class:`AgentProgram` requires, checked on each configured class at load time.
AGENT_PROGRAM_METHODS = ("answer_predictors", "named_predictors", "learn", "acall")
