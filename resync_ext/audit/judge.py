"""The auditor's judge: the verdict names, the validated verdict, and the default judge.

A judge is anything awaitable as ``judge(question=, answer=, evidence=)`` that answers a
:class:`Verdict` (or the dict of one). ``ResyncApp.judge_class`` names the class the server builds
as ``judge_class(registry)``; the default, :class:`RegistryJudge`, asks the judge program the
agents configuration names (``agents/judge.py``) on the judge's LM.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from resync_ext.agents.registry import AgentRegistry

#: The judge's verdict names, the one list (the judge program, the auditor, the review queue).
VerdictName = Literal["ok", "suspicious", "incorrect"]
VERDICTS: tuple[VerdictName, ...] = get_args(VerdictName)


class Verdict(BaseModel):
    """The judge's validated answer."""

    verdict: VerdictName
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(min_length=1)


@runtime_checkable
class Judge(Protocol):
    """Anything that judges one turn: the agents' judge program, or a scripted test judge."""

    def __call__(
        self, *, question: str, answer: str, evidence: list[Any]
    ) -> Awaitable[Verdict | dict[str, Any]]: ...


class RegistryJudge:
    """Ask the configured judge program (agents/judge.py) on the judge's LM."""

    def __init__(self, registry: AgentRegistry) -> None:
        self.registry = registry

    async def __call__(
        self, *, question: str, answer: str, evidence: list[Any]
    ) -> Verdict | dict[str, Any]:
        """Judge one remembered turn (an unparseable answer raises JudgeOutputError)."""
        from resync_ext.agents.runner import make_judge

        # Never from DSPy's response cache: a garbage verdict must not be served again to the
        # retry or to the next pass (a shallow copy: the model itself is shared, not reloaded).
        lm = self.registry.lm_for(None).copy(cache=False)
        judge = make_judge(self.registry.create_judge(), lm, history=False)
        return await judge(question=question, answer=answer, evidence=evidence)
