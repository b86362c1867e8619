"""tws-analyzer: the health of the current plan in one answer.

What failed, what is late, which critical jobs and deadlines are at risk, and which single failure
blocks the most downstream work. Code walks the plan (resync_ext.agents.health); one short
streamed LM call turns the findings into advice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dspy

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.health import PlanHealth
from resync_ext.agents.toolbox import OnTool, ToolFn, ToolRecorder, current_recorder
from resync_ext.agents.tooling import learn_demos


class SummariseHealth(dspy.Signature):
    """You brief operators of HCL Workload Automation (TWS) on plan health. Answer only from the
    findings. Reply in this form:
    Failed: <jobs that failed, with the reason if known>
    At risk: <late or blocked critical jobs and deadlines, or "none">
    Fix first: <the failure that blocks the most work, and why>
    Name jobs exactly. Do not invent facts. Never say an action was taken."""

    evidence: str = dspy.InputField(desc="findings")
    past_cases: str = dspy.InputField(desc="similar past answers, for reference only")
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()


class Analyzer(dspy.Module):
    """Report plan health from evidence gathered with the TWS tools."""

    def __init__(
        self, tools: Mapping[str, ToolFn], max_iters: int = 8, mode: str = "evidence"
    ) -> None:
        super().__init__()
        self.tools = dict(tools)
        self.summarise = dspy.Predict(SummariseHealth, max_tokens=320)

    def answer_predictors(self) -> list[Any]:
        """Predictors whose raw output is the answer text."""
        return [self.summarise]

    def learn(self, examples: Sequence[dict[str, Any]]) -> None:
        """Use approved turns as few-shot demos."""
        self.summarise.demos = learn_demos(examples)

    async def aforward(
        self, question: str, context: Sequence[str] = (), on_tool: OnTool | None = None
    ) -> dspy.Prediction:
        rec = ToolRecorder(self.tools, on_tool)
        token = current_recorder.set(rec)
        try:
            facts = await PlanHealth(rec).run()
        finally:
            current_recorder.reset(token)
        evidence = " ".join(facts)
        with dspy.context(adapter=compact_adapter()):
            out = await self.summarise.acall(
                evidence=evidence,
                question=question,
                past_cases=" | ".join(c[:200] for c in list(context)[:2]),
            )
        return dspy.Prediction(answer=out.answer, evidence=rec.evidence, evidence_text=evidence)
