"""What the evidence-mode agents share: code gathers facts, one grounded LM call explains them.

An agent program (agents/troubleshooter.py, agents/analyzer.py) subclasses :class:`EvidenceAgent`
and says how to gather its facts (``gather``) and which lines code writes (``head``). This module
runs the rest of the turn the same way for both:

1. the facts go to the model with the question (no past turns: a small model copies them into the
   answer as if they were tonight's facts, so history is written by code elsewhere, dated);
2. the model's text is cleaned of loops and of a sentence the token budget cut;
3. the grounding guard checks every name, code, return code and time in it against this turn's
   evidence and the question; an answer that fails is asked again once, naming what it must not
   say, and what still fails is removed, sentence by sentence, with a plain note saying so.

The code-written facts are streamed as soon as they exist (the operator reads them while the model
writes); the model's explanation follows once it has been checked, since a checked answer cannot
be shown before it is checked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import dspy

from resync_ext.agents.adapter import compact_adapter
from resync_ext.agents.consistency import drop_contradictions
from resync_ext.agents.focus import focused_lines
from resync_ext.agents.follow_up import conversation_subject
from resync_ext.agents.grounding import (
    check,
    drop_unsupported,
    evidence_texts,
    renumber,
    sentences,
    trim_incomplete,
    trim_repetition,
)
from resync_ext.agents.investigate import Investigation
from resync_ext.agents.toolbox import OnTool, ToolFn, ToolRecorder, current_recorder
from resync_ext.agents.tooling import learn_demos

_log = logging.getLogger(__name__)
REMOVED_NOTE = (
    "(Statements the evidence does not support were removed; the facts above are what the plan "
    "shows.)"
)


@dataclass
class Grounding:
    """How an answer fared against its evidence: claims checked and dropped, asked twice or not."""

    checked: int = 0
    dropped: int = 0
    regenerated: bool = False

    def as_dict(self) -> dict[str, int]:
        """Return the counts as the ``final`` frame carries them."""
        d = asdict(self)
        d["regenerated"] = int(self.regenerated)
        return d


def clean(text: str) -> str:
    """Drop loops and an unfinished last sentence from model output."""
    return trim_incomplete(trim_repetition(text or ""))


def tidy(text: str, instructions: str) -> str:
    """Clean model output, and drop what is not an answer: sentences that repeat the model's own
    instructions ("Name only jobs, codes and times that appear in the findings:", "At most three
    steps.") and a line announcing a list that does not follow ("…due to the following issues:")."""
    rules = [x for x in sentences(instructions) if len(x.split()) >= 3 and "<" not in x]
    lines = without(clean(text), rules).splitlines()
    kept = []
    for i, line in enumerate(lines):
        after = next((x for x in lines[i + 1 :] if x.strip()), "")
        if line.rstrip().endswith(":") and not _LIST_MARK_START.match(after):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


async def grounded(
    predict: Any,
    *,
    facts: str,
    question: str,
    allowed: Sequence[str],
    on_tool: OnTool | None = None,
) -> tuple[str, Grounding]:
    """Ask ``predict`` to explain ``facts``; return its text checked against ``allowed``."""
    with dspy.context(adapter=compact_adapter()):
        out = await predict.acall(evidence=facts, question=question, avoid="")
    instructions = str(getattr(getattr(predict, "signature", None), "instructions", "") or "")
    text = tidy(out.answer, instructions)
    report = check(text, allowed, question, durations=True)
    stats = Grounding(checked=len(report.claims))
    if report.ok:
        return text, stats
    stats.regenerated = True
    await stage(on_tool, "checking")
    avoid = ", ".join(dict.fromkeys(c.text for c in report.unsupported))
    _log.info("Resync grounding: asking again without %s", avoid)
    with dspy.context(adapter=compact_adapter()):
        out = await predict.acall(evidence=facts, question=question, avoid=avoid)
    text = tidy(out.answer, instructions)
    report = check(text, allowed, question, durations=True)
    stats.checked += len(report.claims)
    if report.ok:
        return text, stats
    kept, dropped = drop_unsupported(text, allowed, question, durations=True)
    stats.dropped = len(dropped)
    return (kept + "\n" + REMOVED_NOTE).strip(), stats


async def stage(on_tool: OnTool | None, name: str) -> None:
    """Tell the runner the turn reached a stage (the panel shows it while the operator waits):
    ``found`` the facts are written, ``writing`` the model explains them, ``checking`` asked
    again after the grounding guard refused a claim."""
    if on_tool is not None:
        await on_tool({"phase": "stage", "stage": name})


async def _emit(on_tool: OnTool | None, text: str) -> None:
    """Send answer text to the runner as it becomes final (the runner streams it as tokens)."""
    if on_tool is not None and text:
        await on_tool({"phase": "text", "text": text})


def without(text: str, shown: Sequence[str]) -> str:
    """Drop the sentences of ``text`` that repeat what is already ``shown`` (the facts): the same
    sentence, with or without a list mark or a "Why:" label, or a near copy (most of its runs of
    six words are in the facts). A small model often opens its explanation by restating the
    verdict; said twice, the facts read as a loop, and the reader learns nothing new."""

    def key(sentence: str) -> str:
        return " ".join(_LEAD.sub("", sentence).lower().split()).rstrip(".")

    seen = {key(s) for line in shown for s in sentences(line)}
    shown_grams = {g for line in shown for g in _grams(line)}
    lines = []
    for line in text.splitlines():
        kept = []
        for s in sentences(line):
            grams = _grams(s)
            copied = bool(grams) and sum(g in shown_grams for g in grams) >= COPIED * len(grams)
            if key(s) not in seen and not copied:
                kept.append(s)
        if kept or not line.strip():
            lines.append(" ".join(kept))
    return "\n".join(lines).strip()


#: A line that is a list item ("- x", "2. y"): what a line ending in ":" announces.
_LIST_MARK_START = re.compile(r"\s*(?:[-*+•]|\d+[.)])\s")
#: A list mark or a label ("Why:", "Cause:") at a sentence's start.
_LEAD = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*(?:(?:why|cause|reason|because)\s*:\s*)?", re.I)
#: Share of a sentence's six-word runs found in the facts that makes it a copy of them.
COPIED = 0.6


def _grams(text: str, n: int = 6) -> list[tuple[str, ...]]:
    words = re.findall(r"[\w#@\-]+", _LEAD.sub("", text).lower())
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


class EvidenceAgent(dspy.Module):
    """An agent whose facts are gathered and written by code and explained by one LM call."""

    signature: type[dspy.Signature]
    max_tokens = 300
    #: Picks this turn's demos by similarity to the question (set by agents/demos.py's store).
    demo_chooser: Callable[[str], Awaitable[list[dict[str, Any]] | None]] | None = None

    def __init__(
        self, tools: Mapping[str, ToolFn], max_iters: int = 8, mode: str = "evidence"
    ) -> None:
        super().__init__()
        self.tools = dict(tools)
        self.mode = mode
        self.max_iters = max_iters
        self.explain = dspy.Predict(self.signature, max_tokens=self.max_tokens)

    def answer_predictors(self) -> list[Any]:
        """None: the facts are sent as soon as code has written them, the model's explanation
        once the grounding guard has checked it (``phase: text`` events to the runner)."""
        return []

    def stream_listeners(self) -> list[Any]:
        """None, for the same reason."""
        return []

    def learn(self, examples: Sequence[dict[str, Any]]) -> None:
        """Use approved turns ({question, answer, evidence}) as few-shot demos."""
        self.explain.demos = learn_demos(examples)

    async def gather(self, rec: ToolRecorder, question: str) -> Any:
        """Call the tools through ``rec``; return the findings (``facts`` attribute: sentences)."""
        raise NotImplementedError

    def head(self, found: Any) -> list[str]:
        """Return the lines code writes at the top of the answer."""
        return []

    def prompt_facts(self, found: Any, head: list[str]) -> str:
        """Return what the model reads: the code-written lines when there are any (short and
        already ordered, cause first), else the evidence sentences."""
        return "\n".join(head) if head else " ".join(found.facts)

    def wants_model(self, found: Any) -> bool:
        """Tell whether the model should add an explanation to the code-written lines."""
        return True

    async def answer_with_tools(self, rec: ToolRecorder, question: str) -> str | None:
        """Answer in ``react`` mode (the model drives the tools); None where not supported."""
        return None

    async def aforward(
        self,
        question: str,
        context: Sequence[str] = (),
        on_tool: OnTool | None = None,
        subject: str = "",
        earlier: Sequence[str] = (),
    ) -> dspy.Prediction:
        """Answer ``question``. ``subject`` is the conversation's (a question that names no
        object is about it); ``earlier`` is the evidence of the conversation's previous turns,
        which an answer may also draw on."""
        if self.demo_chooser is not None and (chosen := await self.demo_chooser(question)):
            self.learn(chosen)
        rec = ToolRecorder(self.tools, on_tool)
        token = current_recorder.set(rec)
        hint = conversation_subject.set(subject or None)
        try:
            if self.mode == "react":
                drafted = await self.answer_with_tools(rec, question)
                if drafted is not None:
                    allowed = evidence_texts(rec.evidence)
                    text, dropped = drop_unsupported(
                        clean(drafted), allowed, question, durations=True
                    )
                    stats = Grounding(
                        checked=len(check(drafted, allowed, question, durations=True).claims)
                    )
                    stats.dropped = len(dropped)
                    if dropped:
                        text = (text + "\n" + REMOVED_NOTE).strip()
                    return dspy.Prediction(
                        answer=text, evidence=rec.evidence, grounding=stats.as_dict(), subjects=[]
                    )
            found = await self.gather(rec, question)
        finally:
            conversation_subject.reset(hint)
            current_recorder.reset(token)
        # A focused follow-up ("what does it block?") is answered by its facts alone.
        focused = focused_lines(found) if isinstance(found, Investigation) else None
        head = self.head(found) if focused is None else focused
        await stage(on_tool, "found")
        shown = "\n".join(head)
        # The facts are known now: the operator reads them while the model writes.
        for i, line in enumerate(head):
            await _emit(on_tool, line if i == 0 else "\n" + line)
        facts = self.prompt_facts(found, head) or "No matching job, stream or workstation found."
        stats = Grounding()
        body = ""
        if focused is None and self.wants_model(found):
            await stage(on_tool, "writing")
            allowed = [*evidence_texts(rec.evidence), *head, *earlier]
            body, stats = await grounded(
                self.explain, facts=facts, question=question, allowed=allowed, on_tool=on_tool
            )
            body, contradicted = drop_contradictions(body, head)
            if contradicted:  # true names, false statement: dropped as an unsupported one is
                _log.info("Resync grounding: dropped %s", "; ".join(contradicted))
                stats.dropped += len(contradicted)
                body = "\n".join(renumber(body.replace(REMOVED_NOTE, "").strip().splitlines()))
                body = f"{body}\n{REMOVED_NOTE}".strip()
        answer = "\n".join(x for x in [*head, without(body, head)] if x).strip() or facts
        rest = answer[len(shown) :] if shown and answer.startswith(shown) else answer
        for i, line in enumerate(rest.split("\n")):
            # Sentence by sentence, each with the space after it: the pieces join to the text.
            for k, piece in enumerate(re.split(r"(?<=[.!?])(?=\s)", line)):
                lead = "\n" if k == 0 and (i > 0 or shown) else ""
                await _emit(on_tool, lead + piece)
        return dspy.Prediction(
            answer=answer,
            evidence=rec.evidence,
            evidence_text=facts,
            grounding=stats.as_dict(),
            subjects=list(getattr(found, "subjects", [])),
        )
