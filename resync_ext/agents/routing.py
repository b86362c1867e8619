"""One entry point for questions: which agent answers a question put to ``auto``.

A question about the whole plan ("what failed tonight?", "anything at risk?", "how is tonight
going?") goes to the plan analyzer; a question about one object (a job, a stream, a workstation,
a resource, a prompt, even a name the plan does not have) goes to the troubleshooter.

The decision is the troubleshooter's own name resolution (``candidate_names``, the first step of
resync_ext.agents.investigate): a question in which it finds a name is one its investigation
would follow, object by object, and say "not in the plan" for a name that is not there; a
question in which it finds none would make it fall back to a plan overview, which the analyzer
does better. So the router and the investigation can never disagree, and no word list of any
particular plan is involved: the plan's own names, as the question writes them, decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from resync_ext.agents.evidence import candidate_names

# "what does it block?", "and its log?", "is that stream late?": the question points back at the
# object the conversation is about. "Anything at risk?" after a job question does not.
_POINTS_BACK = re.compile(r"\b(it|its|that|this|these|those|them|they|same)\b", re.I)
RouteKind = Literal["plan", "object"]
PLAN: RouteKind = "plan"
OBJECT: RouteKind = "object"


@dataclass(frozen=True)
class Route:
    """Where a question goes, and the names that sent it there (none for the plan)."""

    kind: RouteKind
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Delegate:
    """An agent a routing program hands questions to: its id, its program and its LM.

    ``lm`` is None when the registry has no LM factory (tests): the turn's LM is used then.
    A plain dataclass, not a DSPy module attribute, so that the router's predictors (none) are
    not confused with its delegates' (each has its own demos, keyed by its own id).
    """

    agent_id: str
    program: Any
    lm: Any = None


def route(question: str, subject: str | None = None) -> Route:
    """Decide who answers ``question``: the troubleshooter when it names something, or names
    nothing but points back at the conversation's ``subject``; else the analyzer."""
    found = candidate_names(question)
    if not found and subject and _POINTS_BACK.search(question):
        found = [subject]
    return Route(OBJECT, found) if found else Route(PLAN)
