"""The grounding guard: an answer may state only what the evidence shown with it supports.

A *claim* is something an operator would act on and that a small model invents easily: a plan
object name (job, stream, workstation, resource), an error code (``ORA-01017``, ``AWSBHT002E``,
``SQL0911N``, ``SQLSTATE 40001``, an errno name such as ``ENOSPC``), a return code and a time. Each
claim of an answer must appear in the evidence texts (the recorded tool summaries and arguments
that the ``final`` frame carries, earlier turns' evidence in a conversation) or in the question.
Nothing here knows a job name: the rules are shapes, so they hold for any plan and any LM.

Matching is on whole tokens, case-insensitively, after the same tokenisation on both sides, so
``payroll_extract`` in an answer is supported by ``PAYROLL_EXTRACT`` in the evidence, and a name
glued together from a stream and a job (``DAILY_PAY_EXTRACT``) is not.
"""

from __future__ import annotations

import errno
import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from resync_ext.agents import durations as _durations

ClaimKind = Literal["name", "code", "return_code", "time", "duration"]

# Error codes of the products a job log speaks for: Oracle/SQL*Plus (ORA-, SP2-, TNS-), HWA
# (AWSxxxnnnE), DB2 (SQLnnnnN), and the generic PREFIX-nnnn shape most products use.
_CODE = re.compile(
    r"(?<![\w-])(?:AWS[A-Z]{3}\d{3}[EIWS]|SQL\d{4,5}[NWC]|[A-Z][A-Z0-9]{1,4}-\d{3,5}[A-Z]?)(?![\w-])"
)
_SQLSTATE = re.compile(r"\bSQLSTATE\s*[=:]?\s*([0-9A-Z]{5})\b", re.I)
_ERRNO = frozenset(errno.errorcode.values())
_ERRNO_WORD = re.compile(r"\bE[A-Z0-9]{2,14}\b")
_RC = re.compile(
    r"\b(?:return[ -]code|exit[ -](?:code|status)|rc)\b\s*(?:of|is|was|=|:|\()?\s*(-?\d+)\b", re.I
)
_RC_EVIDENCE = re.compile(r'"?return_code"?\s*[:=]\s*(-?\d+)')
_ISO = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b"
)
_CLOCK = re.compile(r"(?<![\d:.-])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
# Object-name candidates: letters, digits and the characters HWA allows in names (_ # . -).
_TOKEN = re.compile(r"(?<![\w#@./\\-])([A-Za-z0-9][A-Za-z0-9_#@.\-]*[A-Za-z0-9])")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.#@~$-]+){2,}[/\\]?|https?://\S+")

# Upper-case words that are vocabulary, not object names: HWA statuses and substatus words,
# protocol and product acronyms an explanation uses. A plain upper-case word outside this list
# is taken for a name (HWA names are upper-case); one with "_", "#" or a digit always is.
_VOCABULARY_WORDS = """
    ABEND ABENDED ABENP ADD BLOCKED CANCL CANCELLED CANCELED DONE ERROR EXEC EXTRN FAIL FAILED
    FENCE HOLD HELD INTRO PEND READY SCHED SUCC SUCCP SUPPR WAIT WAITING RUNNING SUCCESSFUL
    UNDECIDED LINKED UNLINKED LIMIT STUCK LATE CRITICAL DEADLINE PREDECESSOR PREDECESSORS
    SUCCESSOR SUCCESSORS JOB JOBS STREAM STREAMS AGENT AGENTS PLAN NOTE NOTES WARNING INFO TODO
    ASAP NONE NULL TRUE FALSE CAUSE STEPS NEXT VERDICT BLOCKS FIXED SEEN BEFORE FOUND KNOWN ISSUE
    ISSUES CHECK HTTP HTTPS REST JSON YAML XML HTML SOAP LDAP SMTP SFTP SSH TCP UDP DNS TLS SSL
    URL URI UUID UNIX LINUX AIX WINDOWS ORACLE MQ JDBC ODBC SQL SAP JVM JAVA CPU RAM DISK NFS SAN
    LAN WAN TWS HWA HCL IBM MDM DWC FTA DDM BKM UTC GMT CET CEST EST EDT PST PDT OQL API SLA ETA
    RC OK STDOUT STDERR STDIN PATH HOME USER ROOT TEMP TMP LOGS DBA OPS IT SQLSTATE SQLCODE ERRNO
    FOR ON TO OF BY AT IN FILE FILES PROMPT PROMPTS RESOURCE RESOURCES DEPENDENCY DEPENDENCIES
    TIME START CONFIRMATION CONFIRM POLICY FROM UNTIL
"""
VOCABULARY = frozenset(re.findall(r"\w+", _VOCABULARY_WORDS))


@dataclass(frozen=True)
class Claim:
    """One checkable statement in an answer: its kind, the text as written and its key."""

    kind: ClaimKind
    text: str
    key: str


@dataclass
class GroundingReport:
    """The claims found in an answer and those the evidence does not support."""

    claims: list[Claim] = field(default_factory=list)
    unsupported: list[Claim] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every claim is supported."""
        return not self.unsupported


def _norm(token: str) -> str:
    return token.strip(".-").upper()


def _is_name(token: str) -> bool:
    word = _norm(token)
    if len(word) < 3 or not any(c.isalpha() for c in word):
        return False
    if word in VOCABULARY or word in _ERRNO or _CODE.fullmatch(word):
        return False
    if "_" in word and all(p in VOCABULARY for p in word.split("_")):
        return False  # a substatus such as HOLD_WAITING_FOR_PREDECESSOR
    if any(c in word for c in "_#@"):
        return True
    # A dotted token is a STREAM.JOB reference only when its parts look like names; "e.g" is not.
    if "." in word:
        return all(len(p) >= 2 for p in word.split(".")) and token.upper() == token
    if token.upper() != token:
        return False  # ordinary words: "Payroll", "extract"
    return len(word) >= 4 and (any(c.isdigit() for c in word) or word.isalpha())


def _times(text: str, tz: tzinfo | None) -> set[str]:
    """Return the date and clock keys of every timestamp in ``text`` (UTC and ``tz``)."""
    keys: set[str] = set()
    for m in _ISO.finditer(text):
        date, hh, mm, ss, _zone = m.groups()
        keys.add(date)
        if hh is None:
            continue
        keys.update({f"{hh}:{mm}", f"{hh}:{mm}:{ss or '00'}"})
        try:
            stamp = datetime.fromisoformat(m.group(0).replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        for zone_ in (UTC, tz):
            if zone_ is None:
                continue
            local = stamp.astimezone(zone_)
            keys.update(
                {
                    local.strftime("%Y-%m-%d"),
                    local.strftime("%H:%M"),
                    local.strftime("%H:%M:%S"),
                }
            )
    for m in _CLOCK.finditer(_ISO.sub(" ", text)):
        hh, mm, ss = m.groups()
        keys.update({f"{int(hh):02d}:{mm}", f"{int(hh):02d}:{mm}:{ss or '00'}"})
    return keys


def claims(text: str, *, durations: bool = False) -> list[Claim]:
    """Return the checkable claims of ``text`` in reading order, each once. ``durations`` adds
    lengths of time ("6 hours"): checked in a model's text, where the code-written facts shown
    with it are evidence too (the facts' own durations are worked out from clock times)."""
    found: list[Claim] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: ClaimKind, raw: str, key: str) -> None:
        if (kind, key) not in seen:
            seen.add((kind, key))
            found.append(Claim(kind, raw, key))

    for m in _CODE.finditer(text):
        add("code", m.group(0), m.group(0).upper())
    for m in _SQLSTATE.finditer(text):
        add("code", m.group(0), f"SQLSTATE {m.group(1).upper()}")
    for m in _ERRNO_WORD.finditer(text):
        if m.group(0) in _ERRNO:
            add("code", m.group(0), m.group(0))
    for m in _RC.finditer(text):
        add("return_code", m.group(0), m.group(1))
    for m in _ISO.finditer(text):
        date, hh, mm, ss = m.group(1), m.group(2), m.group(3), m.group(4)
        add("time", m.group(0), f"{hh}:{mm}:{ss or '00'}" if hh else date)
        if hh:
            add("time", date, date)
    for m in _CLOCK.finditer(_ISO.sub(" ", text)):
        hh, mm, ss = m.groups()
        add("time", m.group(0), f"{int(hh):02d}:{mm}" + (f":{ss}" if ss else ""))
    for m in _TOKEN.finditer(_PATH.sub(" ", _ISO.sub(" ", text))):
        raw = m.group(1)
        if _is_name(raw):
            add("name", raw, _norm(raw))
    if durations:
        for raw, seconds, precision in _durations.spans(text):
            add("duration", raw, f"{seconds:g}/{precision:g}")
    return found


class Evidence:
    """What an answer may draw on: evidence texts and the question, indexed for lookups."""

    def __init__(self, texts: Iterable[str], tz: tzinfo | None = None) -> None:
        text = "\n".join(t for t in texts if t)
        upper = text.upper()
        self.tokens = {_norm(t) for t in _TOKEN.findall(_PATH.sub(" ", upper))}
        # Path components and dotted references count too ("/opt/app/run.sh", "STREAM.JOB").
        for t in re.findall(r"[A-Z0-9_#@\-]+", upper):
            self.tokens.add(t.strip("-"))
        self.codes = {m.group(0).upper() for m in _CODE.finditer(upper)}
        self.codes |= {f"SQLSTATE {m.group(1).upper()}" for m in _SQLSTATE.finditer(text)}
        self.codes |= {w for w in _ERRNO_WORD.findall(upper) if w in _ERRNO}
        self.rcs = {m.group(1) for m in _RC.finditer(text)}
        self.rcs |= {m.group(1) for m in _RC_EVIDENCE.finditer(text)}
        self.times = _times(text, tz)
        self._text = text

    @functools.cached_property
    def durations(self) -> list[float]:
        """The durations the evidence states, read only when an answer's duration is checked
        (the auditor's checks and the eval's grading check none)."""
        return _durations.stated(self._text)

    def supports(self, claim: Claim) -> bool:
        """Tell whether ``claim`` appears in the evidence."""
        if claim.kind == "code":
            return claim.key in self.codes
        if claim.kind == "return_code":
            return claim.key in self.rcs
        if claim.kind == "time":
            return claim.key in self.times
        if claim.kind == "duration":
            seconds, precision = (float(x) for x in claim.key.split("/"))
            return _durations.supported(seconds, precision, self.durations)
        key = claim.key
        if key in self.tokens:
            return True
        # STREAM.JOB or WS#STREAM.JOB: supported when each named part is.
        parts = [p for p in re.split(r"[.#@]", key) if p]
        return len(parts) > 1 and all(p in self.tokens for p in parts)


def check(
    answer: str,
    evidence: Sequence[str],
    question: str = "",
    *,
    tz: tzinfo | None = None,
    durations: bool = False,
) -> GroundingReport:
    """Check every claim of ``answer`` against ``evidence`` and ``question``."""
    index = Evidence([*evidence, question], tz)
    found = claims(answer, durations=durations)
    return GroundingReport(found, [c for c in found if not index.supports(c)])


_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[*A-Z0-9-])")
_LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, keeping list items and line breaks as boundaries."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        start = 0
        for m in _BOUNDARY.finditer(line):
            head = line[start : m.start()]
            # "1." opening a list item, or "e.g." / "i.e.", is not a sentence end.
            if re.fullmatch(r"\s*(?:\d+\.|[a-z]\.[a-z]\.?)", head.split(" ")[-1] or ""):
                continue
            out.append(head.strip())
            start = m.end()
        out.append(line[start:].strip())
    return [s for s in out if s]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w#@.\-]+", text.lower())


def degenerate(text: str, n: int = 6, times: int = 3) -> bool:
    """Tell whether some run of ``n`` words repeats ``times`` times or more (a looping model)."""
    words = _words(text)
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    if grams and max(grams.values()) >= times:
        return True
    lines = Counter(s.lower() for s in sentences(text) if len(s) > 12)
    return bool(lines) and max(lines.values()) >= times


def trim_repetition(text: str, n: int = 6) -> str:
    """Drop repeated sentences, and cut a loop where an ``n``-word run comes a third time.

    The cut is made at the last clause boundary before the run's second place, so one copy of it
    stays, and the text ends there with a full stop.
    """
    spans = [(m.start(), m.group(0).lower()) for m in re.finditer(r"[\w#@.\-]+", text)]
    places: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(spans) - n + 1):
        starts = places.setdefault(tuple(w for _, w in spans[i : i + n]), [])
        starts.append(i)
        if len(starts) >= 3:
            first, second = spans[starts[0]][0], spans[starts[1]][0]
            head = text[:second]
            # End at the last clause boundary inside the first copy, not mid-clause.
            stop = max(head.rfind(p, first) for p in ",;.!?:")
            text = (head[:stop] if stop > first else head).rstrip(" ,;:-\u2026")
            text = text + ("" if _END.search(text) else ".")
            break
    kept: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        parts = []
        for sentence in sentences(line):
            key = " ".join(_LIST_MARK.sub("", sentence).lower().split())
            if key and key not in seen:
                seen.add(key)
                parts.append(sentence)
        if parts or not line.strip():
            kept.append(" ".join(parts))
    return "\n".join(kept).strip()


_END = re.compile(r"[.!?:)\]\"'`]\s*$")


def trim_incomplete(text: str) -> str:
    """Cut a trailing sentence that a token budget left unfinished."""
    text = text.rstrip()
    lines = text.splitlines()
    while lines and not _END.search(lines[-1]):
        last = lines[-1]
        cut = max(last.rfind(". "), last.rfind("! "), last.rfind("? "))
        if cut > 0 and not _LIST_MARK.fullmatch(last[: cut + 1] + " "):
            lines[-1] = last[: cut + 1]
            break
        if len(lines) == 1:
            break  # one unfinished line is still better than nothing; nothing to fall back on
        lines.pop()
    return "\n".join(lines).rstrip()


def drop_unsupported(
    text: str,
    evidence: Sequence[str],
    question: str = "",
    *,
    tz: tzinfo | None = None,
    durations: bool = False,
) -> tuple[str, list[Claim]]:
    """Remove the sentences of ``text`` that carry an unsupported claim; return what was cut."""
    index = Evidence([*evidence, question], tz)
    kept_lines: list[str] = []
    dropped: list[Claim] = []
    for line in text.splitlines():
        parts = []
        for sentence in sentences(line):
            bad = [c for c in claims(sentence, durations=durations) if not index.supports(c)]
            if bad:
                dropped += bad
            else:
                parts.append(sentence)
        if parts:
            kept_lines.append(" ".join(parts))
    return "\n".join(renumber(kept_lines) if dropped else kept_lines), dropped


_NUMBERED = re.compile(r"^(\s*)(\d+)([.)]\s)")


def renumber(lines: list[str]) -> list[str]:
    """Number each run of numbered list lines 1, 2, 3 again (from the run's first number), so a
    list whose step was dropped does not read "1., 3."."""
    out: list[str] = []
    expected: int | None = None
    for line in lines:
        m = _NUMBERED.match(line)
        if m is None:
            expected = None
            out.append(line)
            continue
        number = int(m.group(2)) if expected is None else expected
        out.append(f"{m.group(1)}{number}{m.group(3)}{line[m.end() :]}")
        expected = number + 1
    return out


def evidence_texts(evidence: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return what an answer may draw on from recorded evidence: summaries and arguments."""
    out: list[str] = []
    for e in evidence:
        out.append(str(e.get("summary") or ""))
        if e.get("args"):
            out.append(json.dumps(e["args"], default=str))
    return out
