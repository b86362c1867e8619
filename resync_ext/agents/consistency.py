"""The model's sentences that contradict the code-written facts above them are dropped.

The grounding guard (resync_ext.agents.grounding) checks that every name, code, time and
duration a model writes is in the evidence; it cannot see a sentence that uses only true names
to say something false. Measured on unseen nights, the embedded model wrote such sentences:
"running longer than expected" of a run the facts call within its estimate, "without any issues"
on a night the facts list blockers, a critical job "at risk" that the facts call on time, "the
only job that failed" when the facts list four. Each rule here compares one kind of statement
with what the facts say about it; a sentence that contradicts them is dropped, as an unsupported
one is. The rules read the facts' own wording (written by resync_ext.agents.verdict and
resync_ext.agents.health), so they hold for any plan and any model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from resync_ext.agents.grounding import sentences

_LONG = re.compile(
    r"\b(?:longer than (?:expected|estimated|usual|planned|its estimate)|(?:over|past|beyond|"
    r"exceed\w*) (?:its |the )?(?:estimate\w*|expected (?:time|duration))|overrun\w*|"
    r"delay(?:ed)?)\b",
    re.I,
)
_WITHIN = re.compile(r"\b(?:within|about) its estimate\b")
_ALL_WELL = re.compile(
    r"\b(?:without (?:any )?(?:issues?|problems?|errors?)|no (?:issues?|problems?)\b|nothing "
    r"(?:is )?wrong|(?:no need|nothing) to (?:fix|do)|running smoothly|everything (?:is )?"
    r"(?:fine|ok|okay|normal))",
    re.I,
)
_TROUBLE = re.compile(
    r"^(?:Failed \(|Blockers:|Running longer than expected:|Exhausted resources:)"
    r"|abended|failed to launch|waits for|is waiting for|has problems|will miss|has missed|at "
    r"risk|times longer than expected",
    re.M,
)
_ONLY = re.compile(r"\b(?:the only (?:job|one|failure)|only one job)\b", re.I)
_COUNT = re.compile(r"^Failed \((\d+)\)", re.M)
_AT_RISK = re.compile(r"\b(?:at risk|will miss|miss(?:es)? (?:its|the) deadline|late)\b", re.I)
_ON_TIME = re.compile(r"\bon time\b", re.I)
_JOB = re.compile(r"\b[A-Z][A-Z0-9_#-]*(?:\.[A-Z][A-Z0-9_#-]*)*\b")


def _verdicts(facts: str) -> dict[str, str]:
    """What the facts say of each critical job named on a line: ``risk`` or ``on_time``."""
    out: dict[str, str] = {}
    for line in facts.splitlines():
        said = (
            "on_time"
            if "is on time" in line
            else "risk"
            if re.search(r"will miss|has missed|is at risk", line)
            else None
        )
        if said:
            for name in _JOB.findall(line.split(" will ")[0].split(" is ")[0].split(" has ")[0]):
                out.setdefault(name, said)
                out.setdefault(name.rsplit(".", 1)[-1], said)
    return out


def contradiction(sentence: str, facts: str) -> str | None:
    """Say how ``sentence`` contradicts ``facts`` (the code-written lines), or None."""
    if _LONG.search(sentence) and _WITHIN.search(facts) and "longer than expected" not in facts:
        return "calls a run inside its estimate long"
    if _ALL_WELL.search(sentence) and _TROUBLE.search(facts):
        return "says all is well where the facts list problems"
    count = _COUNT.search(facts)
    if _ONLY.search(sentence) and count and int(count.group(1)) > 1:
        return "says one failed where the facts list several"
    verdicts = _verdicts(facts)
    for name in _JOB.findall(sentence):
        said = verdicts.get(name)
        if said == "on_time" and _AT_RISK.search(sentence) and not _ON_TIME.search(sentence):
            return f"puts {name} at risk where the facts say it is on time"
        if said == "risk" and _ON_TIME.search(sentence) and not _AT_RISK.search(sentence):
            return f"calls {name} on time where the facts say it is at risk"
    return None


def drop_contradictions(text: str, shown: Sequence[str]) -> tuple[str, list[str]]:
    """Remove the sentences of ``text`` that contradict the ``shown`` facts; return what was
    kept and why each removed sentence was."""
    facts = "\n".join(shown)
    lines, why = [], []
    for line in text.splitlines():
        kept = []
        for s in sentences(line):
            reason = contradiction(s, facts)
            if reason is None:
                kept.append(s)
            else:
                why.append(reason)
        if kept or not line.strip():
            lines.append(" ".join(kept))
    return "\n".join(lines).strip(), why
