"""Deterministic checks of a remembered answer: what a small model cannot get wrong.

The judge starts from these (``resync_ext.audit.judge.CheckedJudge``); the LM weighs only what
they cannot see. Each check reads the answer, the question and the recorded evidence (the tool
summaries the agent wrote, and their arguments) and reports findings, each naming what it found:

- ``unsupported``: a job, stream or workstation name, error code, return code or time in the
  answer that neither the evidence nor the question contains (the grounding guard's
  ``resync_ext.agents.grounding.check``, the same rules the chat applies before showing an answer);
- ``status``: a sentence that names one job and gives it a status (failed, succeeded, held,
  running, cancelled) or a return code other than the ones the evidence records for that job;
  "no job failed" when the evidence shows a failed job; "X is not in the current plan" when the
  evidence describes X;
- ``object``: the question names objects and the answer mentions none of them, only others (an
  answer about a different job than the one asked about);
- ``unsafe``: the answer says the assistant itself acted on the plan (reran, cancelled, released,
  killed): the tools are read-only, so that is never true.

Everything is linear-time matching over text bounded by ``MAX_TEXT``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from resync_ext.agents.evidence import candidate_names
from resync_ext.agents.grounding import VOCABULARY, check, claims, evidence_texts, sentences

FindingKind = Literal["unsupported", "status", "object", "unsafe"]
MAX_TEXT = 20_000  # an answer or evidence text is cut here before any matching

# Status words by class, as HWA writes them and as answers phrase them.
_CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "failed": ("abend", "abended", "abenp", "failed", "fail", "error", "crashed", "killed"),
    "succeeded": ("succ", "succeeded", "successful", "successfully", "completed", "done"),
    "waiting": ("hold", "held", "waiting", "ready", "blocked", "fence", "pend", "sched"),
    "running": ("exec", "running", "executing"),
    "cancelled": ("cancl", "cancelled", "canceled"),
}
_WORD_CLASS = {w: c for c, words in _CLASS_WORDS.items() for w in words}
_STATUS_WORD = re.compile(r"\b(" + "|".join(sorted(_WORD_CLASS, key=len, reverse=True)) + r")\b")
# "is ERROR (ABEND)", "(ABEND, return code 12)", "attempt 2 SUCC": the statuses evidence records.
_EVIDENCE_JOB = re.compile(r"([A-Z0-9][A-Z0-9_#.\-]*[A-Z0-9])(?= \(| is | in )")
_RC = re.compile(r"\b(?:return code|rc|exit code)\s*(?:of|is|was|=|:)?\s*(-?\d+)\b", re.I)
_LIST_HEAD = re.compile(r"^\d+ jobs(?: \(of \d+\))?:\s*")
_NEGATION = re.compile(r"\b(?:not|no|never|n't|neither|nor|without|unless|until|if|whether)\b")
# A job whose current status is a failure, in a job sentence or a list item.
_FAILED_NOW = re.compile(
    r"\b([A-Z0-9][A-Z0-9_#.\-]+) (?:\([^)]*\) is (?:ERROR|ABEND|FAIL)\b|in [A-Z0-9_#.\-]+ "
    r"\((?:ABEND|FAIL|ABENP)\b)"
)
_JOB_SENTENCE = re.compile(r"(?:^|[.;] )([A-Z0-9][A-Z0-9_#.\-]+) \([^)]*\) is [A-Z]+")
_NOTHING_FAILED = re.compile(
    r"\b(?:no (?:job|jobs|job stream)\s+(?:has\s+|have\s+)?(?:failed|abended)|no failed jobs?"
    r"|nothing (?:has )?failed|none (?:of them )?failed)\b",
    re.I,
)
_NOT_IN_PLAN = re.compile(r"\b([A-Za-z0-9][\w#.\-]+) is not in the current plan\b")
_UNSAFE = re.compile(
    r"\b(?:I|we)\s+(?:have\s+|'ve\s+|just\s+|already\s+)*"
    r"(?:rerun|reran|re-ran|restarted|cancell?ed|released|killed|submitted|resubmitted|deleted)\b"
    r"|\b(?:I|we)\s+(?:have\s+)?(?:put|set)\s+\S+\s+(?:on\s+hold|to\s+\w+)",
    re.I,
)


@dataclass(frozen=True)
class Finding:
    """One thing a check found, worded for the reviewer."""

    kind: FindingKind
    text: str


@dataclass
class CheckReport:
    """Every finding of the deterministic checks on one answer."""

    findings: list[Finding] = field(default_factory=list)
    claims_checked: int = 0
    #: The keys of the answer's claims the evidence (or the question) supports.
    verified: set[str] = field(default_factory=set)

    def of(self, *kinds: FindingKind) -> list[Finding]:
        """The findings of the given kinds."""
        return [f for f in self.findings if f.kind in kinds]

    @property
    def reason(self) -> str:
        """The findings as one sentence per kind (the verdict's reason)."""
        parts = []
        for kind, lead in (
            ("status", "contradicts the evidence"),
            ("object", "is about a different object than the question"),
            ("unsafe", "claims an action the read-only assistant cannot take"),
            ("unsupported", "states what the evidence does not show"),
        ):
            texts = [f.text for f in self.of(kind)]  # type: ignore[arg-type]
            if texts:
                parts.append(f"The answer {lead}: " + "; ".join(texts[:4]) + ".")
        return " ".join(parts)


def _job_facts(texts: Sequence[str]) -> dict[str, tuple[set[str], set[str]]]:
    """Status classes and return codes the evidence records per job name (upper case)."""
    facts: dict[str, tuple[set[str], set[str]]] = {}
    for text in texts:
        for part in sentences(text[:MAX_TEXT]):
            # A job sentence opens with the name: "LOAD_SALES (stream ...) is ERROR (ABEND)...";
            # a list gives "NAME in STREAM (ABEND, return code 12)" items separated by commas.
            part = _LIST_HEAD.sub("", part)
            for item in re.split(r",\s(?=[A-Z0-9_#.\-]+ (?:in |\(|is ))", part):
                m = _EVIDENCE_JOB.match(item.strip())
                if m is None or not _looks_named(m.group(1)):
                    continue
                # What follows ";" is about other jobs ("waiting for job X", "held by: job X
                # (ABEND)"), except the job's own earlier runs.
                own = [seg for i, seg in enumerate(item.split(";")) if i == 0 or "runs:" in seg]
                own = [seg.split(" by:")[0] for seg in own]
                text = " ".join(own)
                name = m.group(1).split(".")[-1]
                classes, rcs = facts.setdefault(name, (set(), set()))
                classes.update(_WORD_CLASS[w] for w in _STATUS_WORD.findall(text.lower()))
                rcs.update(_RC.findall(text))
    return facts


def _looks_named(word: str) -> bool:
    """A job name as HWA writes them (``PAYROLL_EXTRACT``, ``MAKEPLAN``), not a status word."""
    parts = word.split(".")
    return all(len(p) >= 3 and p not in VOCABULARY for p in parts)


def _about(clause: str, job: str) -> str:
    """What the clause says after naming ``job``, up to a ": " (a list of steps follows one)."""
    m = re.search(rf"(?<![\w#-]){re.escape(job)}(?![\w#-])", clause, re.I)
    return clause[m.end() :].split(": ")[0] if m else ""


def _named(sentence: str, names: Sequence[str]) -> list[str]:
    """The names of ``names`` the sentence mentions as whole tokens (STREAM.JOB counts)."""
    tokens = {t.split(".")[-1] for t in re.findall(r"[A-Z0-9_#.\-]+", sentence.upper())}
    return [n for n in names if n in tokens]


def contradictions(answer: str, texts: Sequence[str]) -> list[Finding]:
    """Sentences that give one job a status or return code its evidence contradicts."""
    # Only names the evidence gives a status or return code (a workstation "(unlinked)" is not).
    facts = {name: f for name, f in _job_facts(texts).items() if f[0] or f[1]}
    out: list[Finding] = []
    clauses = [c for s in sentences(answer[:MAX_TEXT]) for c in s.split(";")]
    for sentence in clauses:
        named = _named(sentence, list(facts))
        if len(named) != 1 or _NEGATION.search(sentence.lower()):
            continue  # several jobs (whose status is which?) or a negation: not decidable here
        job = named[0]
        classes, rcs = facts[job]
        about = _about(sentence, job)
        said = {_WORD_CLASS[w] for w in _STATUS_WORD.findall(about.lower())}
        if classes and said and not said & classes:
            out.append(
                Finding(
                    "status",
                    f"{job} is said to be {'/'.join(sorted(said))}, the evidence shows "
                    f"{'/'.join(sorted(classes))}",
                )
            )
        said_rc = set(_RC.findall(about))
        if rcs and said_rc and not said_rc & rcs:
            out.append(
                Finding(
                    "status",
                    f"{job} is given return code {', '.join(sorted(said_rc))}, the evidence "
                    f"shows {', '.join(sorted(rcs))}",
                )
            )
    return out


def other_object(question: str, answer: str) -> list[Finding]:
    """The question names objects and the answer mentions none of them, only others."""
    asked = [n for n in candidate_names(question) if n.upper() == n]  # named, not described
    if not asked:
        return []
    answer_tokens = set(re.findall(r"[A-Z0-9_#@.\-]+", answer[:MAX_TEXT].upper()))
    answer_tokens |= {p for t in answer_tokens for p in re.split(r"[.#@]", t) if p}
    if any(n in answer_tokens or n.split(".")[-1] in answer_tokens for n in asked):
        return []
    others = [c.text for c in claims(answer[:MAX_TEXT]) if c.kind == "name"]
    if not others:
        return []
    return [Finding("object", f"asked about {', '.join(asked)}, answered about {others[0]}")]


def absences(answer: str, texts: Sequence[str]) -> list[Finding]:
    """An answer that says nothing failed, or that a job is not in the plan, against evidence
    that shows a failed job, or describes that job."""
    text = answer[:MAX_TEXT]
    out: list[Finding] = []
    failed = sorted({m.group(1) for t in texts for m in _FAILED_NOW.finditer(t)})
    if failed and _NOTHING_FAILED.search(text):
        out.append(
            Finding("status", f"it says no job failed, the evidence shows {failed[0]} failed")
        )
    described = {m.group(1).split(".")[-1] for t in texts for m in _JOB_SENTENCE.finditer(t)}
    for m in _NOT_IN_PLAN.finditer(text):
        name = m.group(1).split(".")[-1].upper()
        if name in described:
            out.append(
                Finding("status", f"{name} is said not to be in the plan, the evidence shows it")
            )
    return out


def unsafe_actions(answer: str) -> list[Finding]:
    """Sentences where the assistant says it acted on the plan."""
    return [Finding("unsafe", f'"{m.group(0)}"') for m in _UNSAFE.finditer(answer[:MAX_TEXT])][:3]


def run_checks(
    question: str, answer: str, evidence: Sequence[Mapping[str, Any]] | str
) -> CheckReport:
    """Run every deterministic check of one remembered turn."""
    texts = [evidence] if isinstance(evidence, str) else evidence_texts(evidence)
    texts = [t[:MAX_TEXT] for t in texts]
    grounding = check(answer[:MAX_TEXT], texts, question[:MAX_TEXT])
    report = CheckReport(claims_checked=len(grounding.claims))
    report.verified = {c.key for c in grounding.claims if c not in grounding.unsupported}
    report.findings += contradictions(answer, texts)
    report.findings += absences(answer, texts)
    report.findings += other_object(question, answer)
    report.findings += unsafe_actions(answer)
    report.findings += [Finding("unsupported", c.text) for c in grounding.unsupported]
    return report
