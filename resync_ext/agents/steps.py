"""A known issue's next steps made this job's: the placeholders of their commands filled in.

The knowledge base writes its steps for any job (``start <ws>``, ``reply <prompt>;y``); the
answer names this job's workstation, stream, name and the one prompt it waits for, and leaves
the placeholders it cannot know (a domain, a count) for the operator.
"""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"<(ws|js|stream|job|prompt)>")


def fill(step: str, job: dict[str, Any]) -> str:
    """Return ``step`` with ``<ws>``, ``<js>``/``<stream>``, ``<job>`` and ``<prompt>`` filled
    in from ``job`` (each left as written when the job does not say)."""
    prompts = [
        d.split()[1]
        for d in job.get("unresolved_dependencies") or []
        if str(d).startswith("prompt ") and len(str(d).split()) > 1
    ]
    names = {
        "ws": job.get("workstation"),
        "js": job.get("stream"),
        "stream": job.get("stream"),
        "job": job.get("name"),
        "prompt": prompts[0] if len(prompts) == 1 else None,
    }
    filled = _PLACEHOLDER.sub(lambda m: str(names[m[1]] or m[0]), step)
    return " ".join(filled.split())
