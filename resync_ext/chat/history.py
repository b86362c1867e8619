"""Past turns as history, never as facts: the "seen before" line of an answer, written by code.

A small model given similar past answers copies their job names, return codes and times into
tonight's answer (measured: another job's error and end time pasted into an answer about a
different job). So past turns never reach the prompt. A past turn is shown only when it is about
the same plan object as this turn's answer, as one dated, labelled line: when it was asked and
whether a reviewer approved it, with the memory's id so the panel can open it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resync_ext.memory.models import Memory

_STATES = {
    "approved": "approved by a reviewer",
    "audited_ok": "checked by the auditor, not yet reviewed",
    "new": "not yet reviewed",
    "flagged": "flagged by the auditor, not yet reviewed",
}


def _mentions(memory: Memory, name: str) -> bool:
    meta = memory.metadata
    text = " ".join([meta.question or "", *(str(e.get("summary", "")) for e in meta.evidence)])
    return re.search(rf"(?<![\w#.]){re.escape(name)}(?![\w#])", text, re.I) is not None


def about(memories: Sequence[Memory], subjects: Sequence[str]) -> list[Memory]:
    """Return the past turns whose question or evidence names one of ``subjects``."""
    names = [s for s in subjects if s and s != "None"]
    return [m for m in memories if any(_mentions(m, n) for n in names)]


def _day(stamp: str) -> str:
    try:
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp[:10]
    return f"{t.day} {t:%b}"


def seen_before(memories: Sequence[Memory], subjects: Sequence[str]) -> str | None:
    """Return the "Seen before" line for this turn's subjects, or None when no past turn fits."""
    relevant = [m for m in about(memories, subjects) if m.metadata.state in _STATES]
    if not relevant:
        return None
    # Approved answers first: a reviewer has said they were right.
    best = sorted(relevant, key=lambda m: (m.metadata.state != "approved", m.created_at))[0]
    name = next(n for n in subjects if _mentions(best, n))
    more = f" ({len(relevant) - 1} more)" if len(relevant) > 1 else ""
    return (
        f"Seen before: {name} was asked about on {_day(best.created_at)}; that answer was "
        f"{_STATES[best.metadata.state]}{more} (memory {best.id[:8]})."
    )
