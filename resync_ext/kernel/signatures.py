"""Normalised error signatures: the same failure in different logs and answers gets one key.

A job log or an answer says ``ORA-01017: invalid username/password`` on one night and the same
with another timestamp, path or session number the next; counting recurring failures needs one
key for both. In order of preference a line yields: a product message code (``ORA-01017``,
``AWSBDW009E``, ``SQL0911N``, ``SP2-0751``), an operating-system condition named by its errno
(``ENOSPC`` for "No space left on device"), or, when a text has neither, its first error line
with numbers, paths, quoted strings, times and ids replaced by placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from resync_ext.redact import mask_secrets

_CODES = re.compile(
    r"\b(ORA-\d{5}|AWS[A-Z]{3}\d{3}[EW]|SQL\d{4,5}[NC]|SP2-\d{4}|TNS-\d{5}|EQQ[A-Z]\d{3}[EW])\b"
)
# Lines that locate an error rather than state one (a PL/SQL stack frame) carry no signature.
_LOCATION_ONLY = frozenset({"ORA-06512"})
_CONDITIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ENOSPC",
        re.compile(r"no space left on device|disk (?:is )?full|file system (?:is )?full", re.I),
    ),
    ("ENOENT", re.compile(r"no such file or directory|(?:file|directory) .{0,120}not found", re.I)),
    ("EACCES", re.compile(r"permission denied|access (?:is )?denied", re.I)),
    ("ECONNREFUSED", re.compile(r"connection refused", re.I)),
    ("ETIMEDOUT", re.compile(r"timed? ?out\b|timeout expired", re.I)),
    ("DEADLOCK", re.compile(r"deadlock", re.I)),
    ("OOM", re.compile(r"out of memory|cannot allocate memory|OutOfMemoryError", re.I)),
    ("KILLED", re.compile(r"\bkilled\b|signal 9\b|SIGKILL", re.I)),
    ("NO_SUCH_USER", re.compile(r"no such user|unknown user|user .{0,40} does not exist", re.I)),
    (
        "AUTH_FAILED",
        re.compile(
            r"invalid (?:username|user name|credentials)|logon denied|authentication failed", re.I
        ),
    ),
)
_ERROR_LINE = re.compile(
    r"\berror\b|\bfail(?:ed|ure)?\b|exception|fatal|cannot|can't|unable|denied|abend", re.I
)
_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b"), ""),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"([\"'`])[^\"'`\n]{0,200}\1"), "<str>"),
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.$~-]+){2,}[\\/]?"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<n>"),
    (re.compile(r"\b\d[\d,.]*\b"), "<n>"),
    (re.compile(r"\s+"), " "),
)
_MAX_TEXT = 160


@dataclass(frozen=True)
class Signature:
    """One normalised failure: its key and the normalised line it was read from."""

    key: str
    text: str


def normalise_line(line: str) -> str:
    """Return ``line`` masked and with times, ids, quoted strings, paths and numbers replaced."""
    text = mask_secrets(line)
    # Product codes hold digits the number rule would eat: park them, normalise, put them back.
    codes = _CODES.findall(text)
    text = _CODES.sub("\x00", text)
    for pattern, repl in _NORMALISERS:
        text = pattern.sub(repl, text)
    for code in codes:
        text = text.replace("\x00", code, 1)
    return text.strip(" :-=|")[:_MAX_TEXT]


def _line_signatures(line: str) -> list[Signature]:
    codes = [c for c in _CODES.findall(line) if c not in _LOCATION_ONLY]
    if codes:
        return [Signature(code, normalise_line(line)) for code in dict.fromkeys(codes)]
    if _CODES.search(line):
        return []  # a location-only line (ORA-06512): the real code is on another line
    for key, pattern in _CONDITIONS:
        if pattern.search(line):
            return [Signature(key, normalise_line(line))]
    return []


def signatures(text: str | None) -> list[Signature]:
    """Return the distinct signatures of a log or message, in order of appearance."""
    if not text:
        return []
    found: dict[str, Signature] = {}
    first_error: str | None = None
    for line in text.splitlines():
        for sig in _line_signatures(line):
            found.setdefault(sig.key, sig)
        if first_error is None and _ERROR_LINE.search(line):
            first_error = line
    if not found and first_error is not None:
        text_key = normalise_line(first_error).lower()
        if text_key:
            found[text_key] = Signature(text_key, text_key)
    return list(found.values())


def signature_keys(texts: Iterable[str | None]) -> list[str]:
    """Return the distinct signature keys found across ``texts``, in order of appearance."""
    keys: dict[str, None] = {}
    for text in texts:
        for sig in signatures(text):
            keys.setdefault(sig.key, None)
    return list(keys)
