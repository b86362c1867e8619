"""Questions worth asking now, built from what the engine reports about the live plan.

An empty chat offers three or four of them, so a new user starts from tonight's actual problems
instead of guessing what to ask: the first failed job, the plan as a whole, a late critical job,
a workstation that cannot run jobs, a job waiting for an operator's reply, a late job stream.
Everything named comes from the plan summary (and, only when the engine counts a job waiting for
a prompt, one list of held jobs to name it), so the questions fit any plan; each is phrased so
that ``auto`` routes it (resync_ext.agents.routing) to the agent that can answer it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from resync_ext.agents.plan_text import ref
from resync_ext.agents.toolbox import error_text, is_error

Tool = Callable[..., Awaitable[dict[str, Any]]]
MOST = 4
FEWEST = 3
#: Plan-wide questions that fit any night, to make up the fewest when the plan is quiet.
ANY_NIGHT = ("What needs attention tonight?", "Anything at risk tonight?", "How is tonight going?")
_PROBLEM_QUESTIONS = {"unlinked": "Why is {name} unlinked?", "stopped": "Why is {name} stopped?"}


class Suggestion(BaseModel):
    """One question to ask, and why it is offered (what the engine reported)."""

    question: str
    reason: str


class Suggestions(BaseModel):
    """The questions an empty chat offers; ``note`` says when the plan could not be read."""

    suggestions: list[Suggestion]
    note: str | None = None


def _failed(s: dict[str, Any]) -> list[Suggestion]:
    failed = (s.get("failed_jobs") or {}).get("items") or []
    if not failed:
        return []
    first = failed[0]
    total = (s.get("failed_jobs") or {}).get("total") or len(failed)
    out = [Suggestion(question=f"Why did {first['name']} fail?", reason=f"{ref(first)} failed")]
    if total > 1:
        out.insert(0, Suggestion(question="What failed tonight?", reason=f"{total} jobs failed"))
    return out


def _critical(s: dict[str, Any]) -> list[Suggestion]:
    late = (s.get("late_critical_jobs") or {}).get("items") or []
    # A held critical job first: it will not start on its own, a running one may still make it.
    late = sorted(late, key=lambda j: j.get("internal_status") != "HOLD")
    return [
        Suggestion(
            question=f"Will {j['name']} make its deadline?",
            reason=f"critical job {ref(j)} is late",
        )
        for j in late[:1]
    ]


def _stations(s: dict[str, Any]) -> list[Suggestion]:
    rows = s.get("workstation_problems") or []
    # An unlinked or stopped agent runs nothing at all: before a raised fence or a limit.
    rows = sorted(rows, key=lambda w: not set(w.get("problems") or []) & set(_PROBLEM_QUESTIONS))
    out = []
    for w in rows[:1]:
        problems = [str(p) for p in w.get("problems") or []]
        known = next((p for p in problems if p in _PROBLEM_QUESTIONS), None)
        question = (
            _PROBLEM_QUESTIONS[known].format(name=w["name"])
            if known
            else f"What is wrong with workstation {w['name']}?"
        )
        out.append(Suggestion(question=question, reason=f"{w['name']}: {', '.join(problems)}"))
    return out


async def _prompts(s: dict[str, Any], list_jobs: Tool | None) -> list[Suggestion]:
    if list_jobs is None or not (s.get("waiting_reasons") or {}).get("HOLD_WAITING_FOR_PROMPT"):
        return []
    held = await list_jobs(status="HOLD", limit=50)
    if is_error(held):
        return []
    waiting = [
        j for j in held.get("items") or [] if j.get("substatus") == "HOLD_WAITING_FOR_PROMPT"
    ]
    return [
        Suggestion(
            question=f"What is {j['name']} waiting for?", reason=f"{ref(j)} waits for a reply"
        )
        for j in waiting[:1]
    ]


def _streams(s: dict[str, Any]) -> list[Suggestion]:
    return [
        Suggestion(question=f"Why is the {x['name']} stream late?", reason=f"{x['name']} is late")
        for x in (s.get("late_job_streams") or [])[:1]
        if x.get("name")
    ]


async def suggest(plan_summary: Tool, list_jobs: Tool | None = None) -> Suggestions:
    """Build three or four questions from the live plan (the TWS tools of that name)."""
    s = await plan_summary()
    if is_error(s):
        fallback = [Suggestion(question=q, reason="a question for any night") for q in ANY_NIGHT]
        return Suggestions(
            suggestions=fallback, note=f"The plan could not be read: {error_text(s)}"
        )
    # The failures first (the night as a whole, then the first failed job), then one of each
    # other kind of problem, in the order an operator would work them.
    picked = _failed(s)
    for group in (_critical(s), _stations(s), await _prompts(s, list_jobs), _streams(s)):
        if group and len(picked) < MOST:
            picked.append(group[0])
    asked = {p.question for p in picked}
    for question in ANY_NIGHT:
        if len(picked) >= FEWEST:
            break
        if question not in asked:
            picked.append(Suggestion(question=question, reason="a question for any night"))
    return Suggestions(suggestions=picked)
