"""tws-analyzer: the health of the current plan in one answer.

What failed, what is late, which critical jobs and deadlines are at risk, and which single failure
blocks the most downstream work. Code walks the plan (resync_ext.agents.health); one short LM call
turns the findings into advice, checked by the grounding guard (resync_ext.agents.explain).
"""

from __future__ import annotations

import dspy

from resync_ext.agents.explain import EvidenceAgent
from resync_ext.agents.health import PlanHealth
from resync_ext.agents.overview import EARLIER_PLAN, asks_earlier
from resync_ext.agents.toolbox import ToolRecorder


class SummariseHealth(dspy.Signature):
    """You brief operators of HCL Workload Automation (TWS) on plan health. The operator already
    sees the findings. Reply in this form, using only the findings:
    Why it matters: <one or two sentences: what to fix first and what it puts at risk>
    Next steps:
    1. <step>
    2. <step>
    Name only jobs, codes and times that appear in the findings. Never say an action was taken."""

    evidence: str = dspy.InputField(desc="findings")
    avoid: str = dspy.InputField(desc="never mention these: the findings do not show them")
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()


class Analyzer(EvidenceAgent):
    """Report plan health from evidence gathered with the TWS tools."""

    signature = SummariseHealth
    max_tokens = 320

    async def gather(self, rec: ToolRecorder, question: str) -> PlanHealth:
        health = PlanHealth(rec)
        await health.run()
        if asks_earlier(question):
            health.lines.insert(0, EARLIER_PLAN)
        return health

    def head(self, found: PlanHealth) -> list[str]:
        return [*found.lines, "Nothing needs doing."] if _quiet(found) else list(found.lines)

    def wants_model(self, found: PlanHealth) -> bool:
        # A quiet plan needs no advice: asked anyway, a small model wrote generic checks, or
        # "no issues" on a night with blockers.
        return not _quiet(found)


def _quiet(found: PlanHealth) -> bool:
    """Nothing failed, and nothing is late, long, blocked or exhausted: no section but that."""
    return [x for x in found.lines if x != EARLIER_PLAN] == ["No job failed."]
