"""Grading an answer: what it must and must not say, the tools called, grounding, degeneracy."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from resync_ext.agents import grounding


def evidence_texts(evidence: Iterable[dict[str, Any]]) -> list[str]:
    """Render recorded tool calls (tool, args, summary) as the texts an answer may draw on."""
    return [
        f"{e.get('tool')}({json.dumps(e.get('args') or {}, default=str)}): {e.get('summary', '')}"
        for e in evidence
    ]


def grounding_check(answer: str, evidence: Sequence[str], question: str) -> tuple[int, list[str]]:
    """Return (claims checked, unsupported claims as ``kind 'text'``) for an answer."""
    report = grounding.check(answer, evidence, question)
    seen: dict[str, None] = {}
    for claim in report.unsupported:
        seen.setdefault(f"{claim.kind} {claim.text!r}", None)
    return len(report.claims), list(seen)


def is_degenerate(text: str) -> bool:
    """True when a phrase comes back over and over (a looping model), as the guard judges it."""
    return grounding.degenerate(text)


def grade(
    answer: str,
    tools: list[str],
    expect: dict[str, Any],
    *,
    evidence: Sequence[str] | None = None,
    question: str = "",
) -> list[str]:
    """Return what is wrong with the answer (empty when the case passes); case-insensitive.

    ``evidence`` (the texts the answer may draw on) turns the grounding check on.
    """
    text = answer.lower()
    problems = [f"missing {m!r}" for m in expect.get("mentions", []) if m.lower() not in text]
    for group in expect.get("any_of", []):
        if not any(g.lower() in text for g in group):
            problems.append(f"none of {group}")
    problems += [f"says {m!r}" for m in expect.get("must_not", []) if m.lower() in text]
    problems += [f"tool {t} not called" for t in expect.get("tools", []) if t not in tools]
    if evidence is not None:
        problems += [f"ungrounded {c}" for c in grounding_check(answer, evidence, question)[1]]
    if is_degenerate(answer):
        problems.append("degenerate: a phrase repeated over and over")
    return problems
