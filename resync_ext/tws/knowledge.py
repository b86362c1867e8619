"""Known HWA/TWS problems: match log lines, AWS* codes, statuses and return codes to causes.

The entries live in ``known_issues.yaml`` beside this module (rules R1-R28 of the reference
notes, plus refinements of R1 for recognisable log signatures such as ORA-01017).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from resync_ext.redact import mask_secrets

from .models import COMMON_STATUS, common_status

DATA_FILE = Path(__file__).with_name("known_issues.yaml")
AWS_CODE = re.compile(r"\bAWS[A-Z]{3}\d{3}[EIW]\b")
_MAX_LINE = 200
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
    patterns: tuple[re.Pattern[str], ...] = ()
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
                patterns=tuple(re.compile(p, re.IGNORECASE) for p in e.get("patterns") or []),
                return_codes=frozenset(int(x) for x in e.get("return_codes") or []),
                rc_nonzero=rc == "nonzero",
            )
        )
    return tuple(issues)


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
    lines = [ln for ln in (text or "").splitlines() if ln.strip()][-2000:]
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
            m.evidence.extend(_clip(ln) for ln in lines if code in ln)
        if sub and sub in issue.substatuses:
            m.score += 8
            m.evidence.append(f"substatus {sub}")
        for pattern in issue.patterns:
            hit = next((ln for ln in lines if pattern.search(ln)), None)
            if hit is not None:
                m.score += 6
                m.evidence.append(_clip(hit))
                break
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
