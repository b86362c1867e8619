"""Reading a question as part of a conversation: which object it is about, and what about it.

A follow-up names no object ("what does it block?", "and its log?") or points back at one ("that
stream"): it is about the conversation's subject, the object the previous turn's answer was about
(resync_ext.chat.conversation keeps it). A question that names an object switches the subject. A
question may also ask one thing about its object, what it holds up or its log: the answer then
shows those facts (resync_ext.agents.focus) instead of the whole story.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Literal

from resync_ext.agents.evidence import candidate_names

#: What the conversation was about so far (its last turn's subject), set by the agent around
#: ``gather`` (resync_ext.agents.explain). Only a question that names no object uses it: the
#: question text itself is never rewritten, so nothing of the hint reaches memory as asked.
conversation_subject: ContextVar[str | None] = ContextVar("conversation_subject", default=None)
# "it", "its", "that job / failure / stream", "the same one": the question points back.
_BACK = re.compile(r"\b(it|its|that|this|these|those|them|they|same)\b", re.I)
Focus = Literal["blocks", "log", "runs", "times", "earlier", "past_day"]
_FOCUS: list[tuple[Focus, re.Pattern[str]]] = [
    (
        "blocks",
        re.compile(
            r"\b(block\w*|hold\w* up|held up|successors?|downstream|impact\w*|affect\w*)\b",
            re.I,
        ),
    ),
    ("log", re.compile(r"\b(log|logs|stdlist|output)\b", re.I)),
    # "when did it start?", "how long did it run?": what happened, not a forecast ("when will
    # it finish?" is the whole story, with its deadline).
    (
        "times",
        re.compile(
            r"\b(?:when|what time) (?:did|was|has)\b|\bhow long (?:did|has|was)\b"
            r"|\b(?:start|end|finish|run) time\b",
            re.I,
        ),
    ),
    # "has it been rerun?", "did the rerun work?", "how many times did it run?"; not "should I
    # rerun it?", which asks what to do (the whole story).
    (
        "runs",
        re.compile(
            r"\b(?:has|have|was|were|did|is)\b[\w ]{0,30}\b(?:rerun|re-run|retried|run again)\b"
            r"|\bthe (?:rerun|re-run|last run|earlier runs?)\b|\bhow many (?:times|runs)\b",
            re.I,
        ),
    ),
]


def asked_names(question: str, subject: str | None = None) -> list[str]:
    """Return the object names ``question`` asks about; ``subject`` (the conversation's) when
    the question names none, or only a loose phrase while pointing back ("that stream")."""
    names = candidate_names(question)
    if not subject or any(n == n.upper() for n in names):
        return names
    if not names or _BACK.search(question):
        return [subject]
    return names


# A question that also asks why, or about a failure, wants the whole story, not one part of it.
_WHOLE = re.compile(r"\b(why|cause\w*|wrong|fix\w*|fail\w*|abend\w*|error\w*)\b", re.I)


# A run before the current plan's. "The day before", "the previous plan", "last week" always mean
# one; "yesterday" or "last night" may be the current plan's own night run (asked at 07:30 about
# a job that ran at 23:00), unless the question compares ("too", "again", "what about").
_EARLIER = re.compile(
    r"\b(?:the (?:night|day) before|day before yesterday|(?:previous|earlier|prior|archived) "
    r"(?:plans?|days?|weeks?)|last (?:week|month|plan)|(?:\d+|two|three|four|five|six|seven) "
    r"days ago)\b",
    re.I,
)
_PAST_DAY = re.compile(r"\b(?:yesterday|last night|previous night)\b", re.I)
_COMPARE = re.compile(r"\b(?:too|also|as well|again|what about|how about)\b|^\W*and\b", re.I)


def focus_of(question: str, *, follow_up: bool = False) -> Focus | None:
    """Return what a question asks about one object, when it asks one thing: what it
    ``blocks`` (holds up), or its ``log``; None for the whole story (why, what to do). A
    follow-up ("and what does that failure hold up?") is focused even when it says "failure".
    A question about a run before the current plan's is ``earlier`` (Resync reads the current
    plan only); ``past_day`` when it names yesterday or last night, which may be tonight's run."""
    if _EARLIER.search(question):
        return "earlier"
    if _PAST_DAY.search(question):
        return "earlier" if follow_up or _COMPARE.search(question) else "past_day"
    hits = [name for name, pattern in _FOCUS if pattern.search(question)]
    if len(hits) != 1 or (not follow_up and _WHOLE.search(question)):
        return None
    return hits[0]
