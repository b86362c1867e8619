"""Prompts asked by name: the plan lists no prompts, but a job held for one names it.

"What is MONTHEND_OK waiting for?" names a prompt, not a job. The REST API reads prompts only as
definitions (``/model/prompt``) or as a dependency of the jobs that wait for them, so a prompt of
tonight's plan is found through the held jobs: those whose substatus says they wait for a prompt,
read one by one (a few at most), whose unresolved dependencies name it. Without this, a prompt
that holds up the month-end close would be answered "not in the current plan".
"""

from __future__ import annotations

import re
from typing import Any

from resync_ext.agents.evidence import job_sentence
from resync_ext.agents.plan_text import ref
from resync_ext.agents.toolbox import ToolRecorder, is_error

MAX_HELD_READ = 5  # jobs held for a prompt, read to see which prompt: a turn stays short
_PROMPT_NAME = re.compile(r"[A-Z0-9][A-Z0-9_#@-]{0,39}")


async def prompt_waiters(rec: ToolRecorder, name: str) -> list[dict[str, Any]]:
    """Return the jobs held for the prompt called ``name`` (empty when none, or not a name)."""
    if not _PROMPT_NAME.fullmatch(name):
        return []
    held = await rec.call("list_jobs", status="HOLD", limit=50)
    if is_error(held):
        return []
    rows = [j for j in held.get("items") or [] if j.get("substatus") == "HOLD_WAITING_FOR_PROMPT"]
    found = []
    for row in rows[:MAX_HELD_READ]:
        job = await rec.call("get_job", job=ref(row), summary=job_sentence)
        if not is_error(job) and name in prompt_names(job):
            found.append(job)
    return found


def prompt_names(job: dict[str, Any]) -> list[str]:
    """The prompts a job waits for, from its unresolved dependencies (``prompt NAME ("text")``,
    as resync_ext.tws.models.Dependency.label writes them)."""
    labels = [str(d).split() for d in job.get("unresolved_dependencies") or []]
    return [words[1] for words in labels if len(words) > 1 and words[0] == "prompt"]
