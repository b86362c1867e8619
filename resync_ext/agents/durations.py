"""Lengths of time written in an answer ("6 hours", "1 h 20 min", "half an hour"), as seconds.

The grounding guard checks a model's durations against those the evidence states: a small model
turns "6.4 times its usual run" into "a maximum of 6 hours", and an operator acts on the number.
A duration is supported when the evidence (or the code-written facts shown with the answer) holds
one within the precision the answer wrote it in: "6 hours" is supported by ``6 h 24 min`` (half
the smallest unit written), "2 h 10 min" is not supported by ``3 h``. Durations the model works
out from two clock times are not derived here; such a sentence is dropped, never shown unchecked.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "eleven": 11.0,
    "twelve": 12.0,
    "fifteen": 15.0,
    "twenty": 20.0,
    "thirty": 30.0,
    "forty": 40.0,
    "fifty": 50.0,
    "sixty": 60.0,
    "ninety": 90.0,
    "half an": 0.5,
    "half a": 0.5,
}
_UNITS = {
    "d": 86400.0,
    "day": 86400.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
}
_WORDS = "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
# One amount and its unit: "6h", "6 hours", "1.5 hrs", "an hour" (a word amount takes a spelt unit
# after a space, so "as" or "am" is no duration). A clock time ("02:10"), a code ("AWSBHT001E") or
# a decimal's tail never starts one (the look-behind).
_PART = re.compile(
    r"(?:(?<![\w.:,/-])|(?<=\d[hm]))(?:(\d+(?:[.,]\d+)?)\s*(?:-\s*)?"
    r"(days?|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s|d)(?![a-z])"
    rf"|({_WORDS})\s+(?:-\s*)?(days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)\b)",
    re.I,
)
# Parts joined into one duration: "1 h 20 min", "1 hour and 20 minutes", "2 hours, 5 minutes".
_JOIN = re.compile(r"\s{0,3}(?:,\s{0,3}|and\s{1,3})?", re.I)
_ISO = re.compile(r"\bP(?:(\d+)D)?T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?\b")


def _amount(text: str) -> float:
    word = " ".join(text.lower().split())
    return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else float(word.replace(",", "."))


def _unit(text: str) -> float:
    word = text.lower()
    return _UNITS.get(word) or _UNITS[word.rstrip("s")]


def spans(text: str) -> list[tuple[str, float, float]]:
    """Return each duration written in ``text``: its words, its seconds and its precision (the
    seconds of its smallest unit), adjacent parts ("1 h 20 min") joined into one."""
    out: list[tuple[str, float, float]] = []
    start = end = -1
    seconds = smallest = precision = 0.0
    for m in _PART.finditer(text):
        amount, unit = _amount(m.group(1) or m.group(3)), _unit(m.group(2) or m.group(4))
        # "1.5 h", "half an hour": written finer than the unit
        finest = unit if amount == int(amount) else unit / 10
        gap = text[end : m.start()] if m.start() - end <= 10 else "x"
        if start >= 0 and _JOIN.fullmatch(gap) and unit < smallest:
            seconds += amount * unit
            smallest, precision, end = unit, min(precision, finest), m.end()
            continue
        if start >= 0:
            out.append((text[start:end], seconds, precision))
        start, end, seconds = m.start(), m.end(), amount * unit
        smallest, precision = unit, finest
    if start >= 0:
        out.append((text[start:end], seconds, precision))
    return out


def stated(text: str) -> list[float]:
    """Return the seconds of every duration the evidence states, in words or as ISO-8601."""
    found = [seconds for _, seconds, _ in spans(text)]
    for m in _ISO.finditer(text):
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        if any(m.groups()):
            found.append(d * 86400 + h * 3600 + mi * 60 + s)
    return found


def supported(seconds: float, precision: float, evidence: list[float]) -> bool:
    """Tell whether some evidence duration rounds to ``seconds`` at the answer's precision."""
    slack = max(precision / 2, seconds * 0.05, 30.0)
    return any(abs(seconds - d) <= slack for d in evidence)
