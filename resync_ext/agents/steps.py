"""The next steps written by code: a known issue's steps, made this job's or workstation's.

The knowledge base writes its steps for any job (``start <ws>``, ``reply <prompt>;y``); the
answer names this job's workstation, stream, name and the one prompt it waits for, and leaves
the placeholders it cannot know (a domain, a count) for the operator.
"""

from __future__ import annotations

import re
from typing import Any

from resync_ext.agents.evidence import step_text
from resync_ext.agents.investigate import Investigation, failed, ref
from resync_ext.agents.prompts import prompt_names
from resync_ext.agents.verdict import needs_explanation

_PLACEHOLDER = re.compile(r"<(ws|js|stream|job|prompt)>")


def fill(step: str, job: dict[str, Any]) -> str:
    """Return ``step`` with ``<ws>``, ``<js>``/``<stream>``, ``<job>`` and ``<prompt>`` filled
    in from ``job`` (each left as written when the job does not say)."""
    prompts = prompt_names(job)
    names = {
        "ws": job.get("workstation"),
        "js": job.get("stream"),
        "stream": job.get("stream"),
        "job": job.get("name"),
        "prompt": prompts[0] if len(prompts) == 1 else None,
    }
    filled = _PLACEHOLDER.sub(lambda m: str(names[m[1]] or m[0]), step)
    return " ".join(filled.split())


def next_steps(inv: Investigation) -> list[str]:
    """Return the code-written next steps: the known issue's steps for the cause, numbered under
    a "Next steps" line (empty when no known issue applies, or nothing needs doing).

    The cause is the failed job on a hold chain, else the chain's last job, else the asked job:
    a held job's generic "fix the predecessor" steps are not what the operator should do. A
    workstation asked about (unlinked, limit 0, fenced) gets its own known issue's steps. The
    steps are the product's own knowledge, shown as written: the embedded model, asked to adapt
    them on the demo night, renumbered them, mixed in other error codes and added a fourth, and
    spent most of the turn's time doing it; asked about an unlinked agent, it wrote of
    "unlinked files".
    """
    if inv.overview_used or not needs_explanation(inv):
        return []
    if inv.jobs:
        subject = inv.jobs[0]
        cause = next((j for j in inv.chain if failed(j)), inv.chain[-1] if inv.chain else subject)
        about = cause if inv.issues.get(ref(cause)) else subject
        match = inv.issues.get(ref(about)) or {}
    else:  # a workstation asked about, whose problem is a known issue
        rows = [r for r in inv.stations if inv.issues.get(str(r.get("name")))][:1]
        if len(inv.stations) != 1 or not rows:
            return []
        subject = about = {"name": rows[0].get("name"), "workstation": rows[0].get("name")}
        match = inv.issues[str(rows[0].get("name"))]
    steps = [fill(step_text(x), about) for x in (match.get("next_steps") or [])[:3]]
    steps = [x if x.endswith((".", "!", "?")) else x + "." for x in steps if x]
    if not steps:
        return []
    title = "Next steps:" if about is subject else f"Next steps, for {about.get('name')}:"
    return [title, *(f"{n}. {x}" for n, x in enumerate(steps, 1))]
