"""Known HWA/TWS problems: match log lines, AWS* codes, statuses and return codes to causes.

The entries live in ``known_issues.yaml`` beside this module (rules R1-R28 of the reference
notes, plus refinements of R1 for recognisable log signatures such as ORA-01017).

The text is untrusted (a job log, whatever the model passes to the tool), so the rules'
patterns are compiled with RE2 (linear time: ``unlink.*mailman`` took quadratic time with
Python's ``re`` on a line repeating ``unlink``), each rule's patterns as one alternation run
once over the text in 64 KiB chunks (the GIL is released between them), and the text is
bounded first: its last ``MAX_LINES`` non-blank lines, each cut at ``MAX_LINE_CHARS``. ~25 ms
for 1 MB of text; callers run it off the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import re2
import yaml

from resync_ext.redact import mask_secrets

from .models import COMMON_STATUS, common_status

DATA_FILE = Path(__file__).with_name("known_issues.yaml")
# Python's re is linear here: a literal prefix then fixed-length classes, nothing to backtrack.
AWS_CODE = re.compile(r"\bAWS[A-Z]{3}\d{3}[EIW]\b")
_MAX_LINE = 200  # evidence shown per matching line
MAX_LINES = 2000
MAX_LINE_CHARS = 500
CHUNK_CHARS = 64 * 1024
_COMMON = frozenset(COMMON_STATUS.values()) | {"SUCCESSFUL", "HELD"}


@dataclass(frozen=True)
class KnownIssue:
    """Describe one known problem: what identifies it, its cause and next steps."""

    id: str
    title: str
    cause: str
    steps: tuple[str, ...]
    statuses: frozenset[str] = frozenset()
    substatuses: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()
    matcher: re2._Regexp | None = None  # the patterns as one case-insensitive RE2 alternation
    return_codes: frozenset[int] = frozenset()
    rc_nonzero: bool = False


@dataclass
class Match:
    """Hold a candidate issue with its score and the evidence that matched."""

    issue: KnownIssue
    score: int = 0
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the match as plain data for a tool answer."""
        return {
            "rule": self.issue.id,
            "title": self.issue.title,
            "cause": self.issue.cause,
            "next_steps": list(self.issue.steps),
            "score": self.score,
            "evidence": self.evidence[:3],
        }


def _upper(values: Any) -> frozenset[str]:
    return frozenset(str(v).upper() for v in values or [])


@lru_cache(maxsize=1)
def load_known_issues(path: Path = DATA_FILE) -> tuple[KnownIssue, ...]:
    """Load and compile the knowledge base (once per process)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    issues = []
    for e in raw:
        rc = e.get("return_code")
        odd = [s for s in e.get("steps") or [] if not isinstance(s, str)]
        if odd:
            # An unquoted step holding ": " loads as a mapping and would read as {'...': '...'}.
            raise ValueError(f"known issue {e['id']}: step {odd[0]!r} is not text; quote it")
        issues.append(
            KnownIssue(
                id=str(e["id"]),
                title=str(e["title"]),
                cause=" ".join(str(e["cause"]).split()),
                steps=tuple(e.get("steps") or []),
                statuses=_upper(e.get("statuses")),
                substatuses=_upper(e.get("substatuses")),
                codes=_upper(e.get("codes")),
                patterns=tuple(str(p) for p in e.get("patterns") or []),
                matcher=_matcher(str(e["id"]), e.get("patterns") or []),
                return_codes=frozenset(int(x) for x in e.get("return_codes") or []),
                rc_nonzero=rc == "nonzero",
            )
        )
    return tuple(issues)


def _matcher(rule: str, patterns: Iterable[str]) -> re2._Regexp | None:
    alternatives = [f"(?:{p})" for p in patterns]
    if not alternatives:
        return None
    opts = re2.Options()
    opts.case_sensitive = False
    try:
        return re2.compile("|".join(alternatives), opts)
    except re2.error as e:
        raise ValueError(f"known issue {rule}: a pattern RE2 cannot run: {e}") from e


def bounded_lines(text: str | None) -> list[str]:
    """Return the last ``MAX_LINES`` non-blank lines of ``text``, each cut at ``MAX_LINE_CHARS``."""
    if not text:
        return []
    # Only the end of a huge text can hold the lines kept: split no more than it needs.
    text = text[-(MAX_LINES + 1) * (MAX_LINE_CHARS + 1) * 4 :]
    lines = [ln[:MAX_LINE_CHARS] for ln in text.splitlines() if ln and not ln.isspace()]
    return lines[-MAX_LINES:]


def _chunks(lines: list[str], size: int = CHUNK_CHARS) -> list[str]:
    """Join ``lines`` into texts of about ``size`` characters, whole lines each.

    One RE2 call per chunk: the GIL is held for one chunk at a time, not for the whole text.
    """
    out: list[str] = []
    start, length = 0, 0
    for i, line in enumerate(lines):
        if length and length + len(line) > size:
            out.append("\n".join(lines[start:i]))
            start, length = i, 0
        length += len(line) + 1
    if start < len(lines):
        out.append("\n".join(lines[start:]))
    return out


def _first_hit(matcher: re2._Regexp, chunks: list[str]) -> str | None:
    for text in chunks:
        m = matcher.search(text)
        if m is not None:
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.start())
            return text[start : end if end >= 0 else len(text)]
    return None


def _clip(line: str) -> str:
    line = mask_secrets(line.strip())
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def lookup_known_issue(
    text: str | None = None,
    status: str | None = None,
    substatus: str | None = None,
    return_code: int | None = None,
    *,
    limit: int = 3,
) -> list[dict[str, Any]]:
    """Return the best-matching known issues (rule id, cause, next steps, evidence)."""
    lines = bounded_lines(text)
    chunks = _chunks(lines)
    found_codes = {c for ln in lines for c in AWS_CODE.findall(ln)}
    statuses: set[str] = set()
    if status:
        statuses = {status.upper()}
        if status.upper() not in _COMMON:  # an internal status: also match its common one
            statuses.add((common_status(status, substatus) or "").upper())
    sub = (substatus or "").upper()
    matches: list[Match] = []
    for issue in load_known_issues():
        m = Match(issue)
        for code in sorted(found_codes & issue.codes):
            m.score += 10
            m.evidence.extend(_clip(ln) for ln in islice((ln for ln in lines if code in ln), 3))
        if sub and sub in issue.substatuses:
            m.score += 8
            m.evidence.append(f"substatus {sub}")
        hit = _first_hit(issue.matcher, chunks) if issue.matcher else None
        if hit is not None:
            m.score += 6
            m.evidence.append(_clip(hit))
        if statuses & issue.statuses:
            m.score += 3
            m.evidence.append(f"status {status}")
        if return_code is not None:
            if return_code in issue.return_codes:
                m.score += 5
                m.evidence.append(f"return code {return_code}")
            elif issue.rc_nonzero and return_code != 0 and m.score:
                m.score += 1
                m.evidence.append(f"return code {return_code}")
        if m.score:
            matches.append(m)
    matches.sort(key=lambda m: (-m.score, m.issue.id))
    return [m.to_dict() for m in matches[: max(1, limit)]]


def aws_codes(text: str) -> list[str]:
    """Return the distinct AWS* message codes in ``text``, in order of appearance."""
    return list(dict.fromkeys(AWS_CODE.findall(text or "")))
