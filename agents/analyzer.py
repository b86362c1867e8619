"""tws-analyzer: the health of the current plan in one answer.

What failed, what is late, which critical jobs and deadlines are at risk, and which single failure
blocks the most downstream work. Code walks the plan (resync_ext.agents.health); one short LM call
turns the findings into advice, checked by the grounding guard (resync_ext.agents.explain).
"""

from __future__ import annotations

import dspy

from resync_ext.agents.explain import EvidenceAgent
from resync_ext.agents.health import PlanHealth
from resync_ext.agents.toolbox import ToolRecorder


class SummariseHealth(dspy.Signature):
    """You brief operators of HCL Workload Automation (TWS) on plan health. Answer only from the
    findings. Reply in this form:
    Failed: <jobs that failed, with the reason if known>
    At risk: <late or blocked critical jobs and deadlines, or "none">
    Fix first: <the failure that blocks the most work, and why>
    Name jobs exactly as the findings do. Do not invent facts. Never say an action was taken."""

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
        return health
