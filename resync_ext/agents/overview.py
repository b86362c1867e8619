"""The troubleshooter asked about the whole plan ("what failed tonight?"): facts written by code.

The plan summary names what failed, what critical job is late and which workstations have
problems; each failed job looked into adds its status and the log line that says why. That is
the answer, with a pointer to ask about one job for its steps. A small model asked to explain an
overview wrote "the only job that failed" on a night with four, so it is not asked here (the
analyzer, made for the whole plan, gives fix-first order and risks).
"""

from __future__ import annotations

from resync_ext.agents.evidence import clip, decisive_lines
from resync_ext.agents.follow_up import focus_of
from resync_ext.agents.investigate import Investigation, failed, ref
from resync_ext.agents.verdict import job_line

#: Said before the current plan's facts when a question asks about an earlier one ("what failed
#: the day before yesterday?", "last week"): the REST API lists no archived plans, and tonight's
#: facts must not pass for that night's.
EARLIER_PLAN = (
    "Resync reads only the current plan, so it cannot tell what happened in an earlier plan. "
    "This is the current plan:"
)


def asks_earlier(question: str) -> bool:
    """Tell whether a question about the whole plan asks about a plan before the current one."""
    return focus_of(question) == "earlier"


def overview_lines(inv: Investigation) -> list[str]:
    """Return the code-written answer to a question about the whole plan."""
    lines = [f for f in inv.facts if f.startswith(("Plan:", "The plan could not be read"))][:1]
    if not lines:
        return []
    if inv.focus == "earlier":
        lines.insert(0, EARLIER_PLAN)
    broken = [j for j in inv.jobs if failed(j)]
    if broken:
        lines.append(f"Failed jobs looked into ({len(broken)}):")
    for j in broken:
        ranked = decisive_lines(inv.logs.get(ref(j)) or {})
        why = f' The log says "{clip(ranked[0], 160)}".' if ranked else ""
        lines.append(f"- {job_line(j)}{why}")
    if broken:
        lines.append(
            f'Ask about one of them ("Why did {broken[0].get("name")} fail?") for its cause '
            "and next steps."
        )
    elif lines[-1].startswith("Plan:") and _calm(lines[-1]):
        lines.append("Nothing needs doing.")
    return lines


def _calm(summary: str) -> bool:
    """The summary reports no failure, no late critical job, no workstation problem, no note."""
    return "No failed jobs." in summary and not any(
        w in summary for w in ("Late critical:", "Workstation problems:", "Note:")
    )
