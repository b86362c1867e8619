"""The masking engine: RE2 rules run over bounded pieces of text, in time linear in its size.

Why RE2 (``google-re2``): Python's ``re`` backtracks, and two of the first hand-written masking
patterns took quadratic time on a run like ``x-x-x-...`` near a key word (a 62 KB job log stalled
the server 5.2 s). RE2 matches in time linear in the text whatever the pattern, so the rule table
can grow (detect-secrets' patterns, HWA shapes) without anyone proving each regex safe. A rule
must still not need to look far past its own match (``.*?END``): each match restarts the search.

How a text is masked: it is encoded to UTF-8 once and cut into pieces of at most ``PIECE_BYTES``
at line ends, so no single C call holds the GIL for long (a worker thread running this leaves the
event loop its turn between calls). Each rule runs over each piece in table order, replacing its
secret groups with ``***``, once one pass of all rules as a single alternation (the gate) says
the piece holds something; the rules without groups (token shapes) run as one alternation. A
private key whose BEGIN line ends one piece is masked into the next. Not an ``re2.Set`` gate: a
Set whose DFA runs out of memory answers "no match", which here would mean a leak.
Measured (2 cores, thread CPU): ~3 ms per MB of ordinary log text (the gate alone), ~50 ms per
MB of text built to backtrack, ~1.5-2.5 us per masked secret; a piece holding more than
``MAX_SECRETS_PER_PIECE`` is masked by whole lines past that budget (1 MB with a secret every 6
bytes: ~70 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import re2

MASK = "***"
_MASK = MASK.encode()
PIECE_BYTES = 64 * 1024
# One secret every 64 bytes of a piece: past that a piece is a dump of credentials, and masking
# them one by one (~2 us each) would cost ~25 ms a piece; its remaining lines are masked whole.
MAX_SECRETS_PER_PIECE = 1000
# A private key's BEGIN line, then its armour headers and base64 lines up to END (or, cut off,
# up to the first line that cannot belong to it).
KEY_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
_KEY_LINE = r"(?:[A-Za-z0-9+/]{2,}={0,2}|=[A-Za-z0-9+/]{4}|[A-Za-z][A-Za-z-]*: [^\r\n]*|[ \t]*)"
KEY_BODY = (
    r"(?m:(?:[ \t]*\r?\n" + _KEY_LINE + r"[ \t\r]*$)*(?:\r?\n-----END [A-Z0-9 ]*PRIVATE KEY"
    r"(?: BLOCK)?-----)?)"
)
_HEADLESS = re2.compile((r"\A(?m:(?:" + _KEY_LINE + r"[ \t\r]*(?:\n|\z))*)").encode())
_DELIMITERS = b" \t=:\"'"
_QUOTES = b"\"'"
_UNANCHORED = re2._Anchor.UNANCHORED


def _options(case_insensitive: bool) -> re2.Options:
    opts = re2.Options()
    opts.case_sensitive = not case_insensitive
    opts.max_mem = 32 << 20  # room for the DFA of the larger rules
    return opts


@dataclass(frozen=True)
class Rule:
    """One secret shape: an RE2 pattern whose capturing groups are the secret.

    A pattern without groups masks its whole match, less the quotes, spaces, ``=`` and ``:``
    at either end. ``keep`` may spare a match that only looks like a secret (``PWD=/home/x``).
    """

    name: str
    pattern: str
    case_insensitive: bool = True
    keep: Callable[[bytes, bytes], bool] | None = None  # (whole match, secret) -> keep it
    whole_match: bool = False  # mask the whole match even if the pattern has groups

    def compile(self) -> re2._Regexp:
        """Compile the pattern for bytes with RE2 (raises ``re2.error`` if RE2 refuses it)."""
        opts = _options(self.case_insensitive)
        opts.never_capture = self.whole_match
        return re2.compile(self.pattern.encode(), opts)


class Masker:
    """Mask every rule's secrets in a text; build once, share between threads (read-only)."""

    def __init__(self, rules: Iterable[Rule], *, gate: bool = True) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        # All rules as one alternation without captures: one DFA pass says whether a piece
        # needs the rules at all (most text does not: ~4 us for a short string instead of ~45).
        # Unlike an re2.Set it never answers "no" for lack of memory: RE2 falls back to the NFA.
        opts = _options(False)
        opts.never_capture = True
        opts.max_mem = 64 << 20
        self._gate = (
            re2.compile("|".join(_inline(r) for r in self.rules).encode(), opts) if gate else None
        )
        grouped = [
            r for r in self.rules if r.keep or not (r.whole_match or r.compile().groups == 0)
        ]
        plain = [r for r in self.rules if r not in grouped]
        self._passes = [(r, r.compile()) for r in grouped]
        if plain:  # in table order: at one position the first rule listed wins
            tokens = "|".join(_inline(r) for r in plain)
            one = Rule("token shapes", tokens, case_insensitive=False, whole_match=True)
            self._passes.append((one, one.compile()))

    def mask(self, text: str) -> str:
        """Return ``text`` with each rule's secrets replaced by ``***``."""
        if not text:
            return text
        data = text.encode("utf-8", "surrogatepass")
        out: list[bytes] = []
        in_key = False
        for piece in pieces(data):
            if in_key:  # the body of a private key begun in the previous piece
                body = _HEADLESS.match(piece)
                if body is not None and body.end():
                    out.append(_MASK + b"\n")
                    piece = piece[body.end() :]
            if self._gate is None or self._gate.search(piece) is not None:
                budget = MAX_SECRETS_PER_PIECE  # shared by the rules: cost is per secret
                for rule, regexp in self._passes:
                    piece, found = _apply(rule, regexp, piece, budget)
                    budget -= found
            out.append(piece)
            in_key = _ends_inside_key(piece)
        return b"".join(out).decode("utf-8", "surrogatepass")


def _inline(rule: Rule) -> str:
    return f"(?{'i' if rule.case_insensitive else ''}:{rule.pattern})"


def _matches(regexp: re2._Regexp, data: bytes) -> Iterator[Sequence[tuple[int, int]]]:
    """Yield the spans (whole match, then each group) of each match of ``regexp`` in ``data``.

    Calls the compiled RE2 object directly when the binding has it (~0.7 us a match against
    ~2.5 us through ``finditer``'s match objects: what bounds a text dense with secrets).
    """
    low = getattr(regexp, "_regexp", None)
    if low is None:
        for m in regexp.finditer(data):
            yield [m.span(g) for g in range(regexp.groups + 1)]
        return
    pos, end, match = 0, len(data), low.Match
    while pos <= end:
        spans = match(_UNANCHORED, data, pos, end)
        stop = spans[0][1]
        if stop < 0:
            return
        yield spans
        pos = stop if stop > pos else pos + 1


def _apply(rule: Rule, regexp: re2._Regexp, data: bytes, budget: int) -> tuple[bytes, int]:
    """Mask ``rule``'s secrets in ``data``; return the result and the matches it took.

    Past ``budget`` matches the piece is a dump of credentials: the lines from the current
    match on are masked whole, and the budget is spent for the rules after this one.
    """
    out: list[bytes] = []
    last = 0
    keep = rule.keep
    found = 0
    for found, spans in enumerate(_matches(regexp, data), start=1):
        if found > budget:
            rest = max(last, data.rfind(b"\n", 0, spans[0][0]) + 1)
            out.append(data[last:rest])
            out.append(_flooded(data[rest:]))
            return b"".join(out), found
        if len(spans) == 2:  # one group: the common case, kept short
            start, end = _unquoted(data, *spans[1])
            secrets = [(start, end)] if end > start >= last else []
        elif len(spans) > 2:
            secrets = [_unquoted(data, s, e) for s, e in spans[1:] if e > s >= last]
            secrets = [(s, e) for s, e in secrets if e > s]
        else:
            start, end = spans[0]
            whole = data[start:end]
            lead = len(whole) - len(whole.lstrip(_DELIMITERS))
            trail = len(whole) - len(whole.rstrip(_DELIMITERS))
            secrets = [(start + lead, end - trail)] if end - trail > start + lead else []
        if not secrets:
            continue
        if keep and keep(data[spans[0][0] : spans[0][1]], data[secrets[0][0] : secrets[-1][1]]):
            continue
        for start, end in secrets:
            out.append(data[last:start])
            out.append(_MASK)
            last = end
    if not out:
        return data, found
    out.append(data[last:])
    return b"".join(out), found


def _flooded(rest: bytes) -> bytes:
    """Mask every line of ``rest`` whole, keeping the line count (line numbers stay right)."""
    lines = rest.count(b"\n")
    return b"***\n" * lines + (_MASK if not rest.endswith(b"\n") else b"")


def _unquoted(data: bytes, start: int, end: int) -> tuple[int, int]:
    """Return the span inside the quotes when a secret is a quoted string (quotes stay)."""
    if end - start >= 2 and data[start] in _QUOTES and data[end - 1] == data[start]:
        return start + 1, end - 1
    return start, end


def _ends_inside_key(piece: bytes) -> bool:
    begin = piece.rfind(b"-----BEGIN ")
    return (
        begin >= 0
        and b"PRIVATE KEY" in piece[begin : begin + 64]
        and piece.find(b"-----END", begin) < 0
    )


def pieces(data: bytes, size: int = PIECE_BYTES) -> list[bytes]:
    """Cut ``data`` into pieces of at most ``size`` bytes at line ends (else at a space).

    A cut never falls inside a private key block that began in the last quarter of the window
    (the block moves whole into the next piece); a longer block is masked across the cut.
    """
    if len(data) <= size:
        return [data]
    out: list[bytes] = []
    start = 0
    while len(data) - start > size:
        end = start + size
        cut = data.rfind(b"\n", start, end) + 1 or data.rfind(b" ", start, end) + 1 or end
        begin = data.rfind(b"-----BEGIN ", start + 3 * size // 4, cut)
        if begin > start and data.find(b"-----END", begin, cut) < 0:
            cut = begin
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out
