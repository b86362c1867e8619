"""OQL (Orchestration Query Language) parser: filters and ORDER BY, as the v2 ``oql=`` takes.

Grammar (keywords case-insensitive)::

    query      := [expr] [ORDER BY field [ASC|DESC] {, field [ASC|DESC]}]
    expr       := term {OR term}
    term       := factor {AND factor}
    factor     := NOT factor | '(' expr ')' | comparison
    comparison := field op value | field [NOT] IN list | field [NOT] LIKE string
                | field IS [NOT] NULL
    op         := = | != | <> | < | <= | > | >=
    list       := '[' value {, value} ']' | '(' value {, value} ')'
    value      := 'string' | "string" | number | true | false | null | bare ISO instant/duration

``LIKE`` takes ``@`` (any characters) and ``?`` (one character) as wildcards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from resync_ext.tws.simulator.errors import OQLError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"])*")
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<instant>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<duration>P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?(?![\w.]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "TRUE",
    "FALSE",
    "NULL",
    "IS",
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token with its position in the filter."""

    kind: str
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; ``op`` is one of = != < <= > >= IN NOT IN LIKE NOT LIKE."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``AND`` / ``OR`` of two or more nodes."""

    op: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation of a node."""

    item: Node


Node = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed OQL query: a filter (or none) and the sort keys."""

    where: Node | None
    order: tuple[tuple[str, bool], ...] = field(default=())  # (field, descending)


def tokenize(text: str) -> list[Token]:
    """Split an OQL string into tokens; OQLError on a character that starts no token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise OQLError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            value = match.group()
            if kind == "word" and value.upper() in _KEYWORDS:
                kind, value = "kw", value.upper()
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def error(self, message: str) -> OQLError:
        tok = self.peek()
        return OQLError(message, tok.pos if tok else len(self.text))

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end of filter")
        self.i += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.peek()
        if tok is not None and tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.accept(kind, text)
        if tok is None:
            raise self.error(f"expected {text or kind}")
        return tok

    def query(self) -> Query:
        where = None
        if self.peek() is not None and not self._at_order():
            where = self.expr()
        order: list[tuple[str, bool]] = []
        if self.accept("kw", "ORDER"):
            self.expect("kw", "BY")
            while True:
                name = self.expect("word").text
                desc = bool(self.accept("kw", "DESC"))
                if not desc:
                    self.accept("kw", "ASC")
                order.append((name, desc))
                if not self.accept("punct", ","):
                    break
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return Query(where, tuple(order))

    def _at_order(self) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "kw" and tok.text == "ORDER"

    def expr(self) -> Node:
        items = [self.term()]
        while self.accept("kw", "OR"):
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def term(self) -> Node:
        items = [self.factor()]
        while self.accept("kw", "AND"):
            items.append(self.factor())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def factor(self) -> Node:
        if self.accept("kw", "NOT"):
            return Not(self.factor())
        if self.accept("punct", "("):
            node = self.expr()
            self.expect("punct", ")")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.peek()
        if tok is None or tok.kind != "word":
            raise self.error("expected a field name")
        name = self.take().text
        if self.accept("kw", "IS"):
            negate = bool(self.accept("kw", "NOT"))
            self.expect("kw", "NULL")
            return Comparison(name, "!=" if negate else "=", None)
        negate = bool(self.accept("kw", "NOT"))
        if self.accept("kw", "IN"):
            return Comparison(name, "NOT IN" if negate else "IN", self.value_list())
        if self.accept("kw", "LIKE"):
            pattern = self.value()
            if not isinstance(pattern, str):
                raise self.error("LIKE needs a quoted pattern")
            return Comparison(name, "NOT LIKE" if negate else "LIKE", pattern)
        if negate:
            raise self.error("expected IN or LIKE after NOT")
        op = self.accept("op")
        if op is None:
            raise self.error(f"expected an operator after {name!r}")
        value = self.value()
        return Comparison(name, "!=" if op.text == "<>" else op.text, value)

    def value_list(self) -> tuple[Any, ...]:
        close = "]" if self.accept("punct", "[") else ")" if self.accept("punct", "(") else None
        if close is None:
            raise self.error("expected a list in [...]")
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        self.expect("punct", close)
        return tuple(values)

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            body = tok.text[1:-1]
            return body.replace("''", "'") if tok.text[0] == "'" else body
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind in ("instant", "duration"):
            return tok.text
        if tok.kind == "kw" and tok.text in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[tok.text]
        raise OQLError(f"expected a value, found {tok.text!r}", tok.pos)


def parse(text: str | None) -> Query:
    """Parse an OQL string (empty or None: no filter)."""
    if text is None or not text.strip():
        return Query(None)
    return _Parser(text).query()
