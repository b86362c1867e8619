"""OQL evaluation over the plan: field resolution, lenient values, index planning, sorting.

A parsed query is compiled into a Python predicate once per request. Fields the simulator
indexes (internal and common status, workstation, stream, name, id) narrow the candidates
before the predicate runs, so a filter such as ``status = 'ABEND'`` touches only the abended
jobs of a 50 000-job plan. Any other field of the product's JSON is still accepted: its value
is read from the serialised object (slower, but correct).

Leniency (tws-api.md §2.4): field names are case-insensitive and a few common spellings are
aliases (``status``, ``commonStatus``, ``key.name``, ``jobstreamName``...); string comparisons
ignore case; ``SUCCEED``/``SUCCESS`` mean ``SUCCESSFUL``; workstation values match with or
without their leading ``/``; ``activeStates`` also answers ``UNLINKED`` and ``FULLYLINKED``.
Multi-valued fields match when any value matches (``!=``/``NOT``: when none does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from resync_ext.tws.simulator import oql
from resync_ext.tws.simulator.errors import OQLError
from resync_ext.tws.simulator.timeutil import parse_duration, parse_instant

Getter = Callable[[Any], Any]

_COMMON_ALIASES = {
    "SUCCEED": "SUCCESSFUL",
    "SUCCESS": "SUCCESSFUL",
    "SUCC": "SUCCESSFUL",
    "CANCELLED": "CANCELED",
    "CANCEL": "CANCELED",
    "ABEND": "ERROR",
    "FAILED": "ERROR",
    "SUPPRESSED": "SUPPRESS",
    "EXEC": "RUNNING",
}
_INTERNAL_ALIASES = {
    "CANCELED": "CANCL",
    "CANCELLED": "CANCL",
    "CANCEL": "CANCL",
    "SUCCESSFUL": "SUCC",
    "SUCCESS": "SUCC",
    "SUCCEED": "SUCC",
    "ABENDED": "ABEND",
    "FAILED": "FAIL",
    "SUPPRESS": "SUPPR",
    "RUNNING": "EXEC",
}
_STATE_ALIASES = {"FULLYLINKED": "FULLY_LINKED", "NOTLINKED": "UNLINKED", "NOT_LINKED": "UNLINKED"}


@dataclass
class Entity:
    """Describe how OQL sees one kind of plan object."""

    fields: dict[str, Getter]
    aliases: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # field → common|internal|ws|states
    indexed: dict[str, str] = field(default_factory=dict)  # field → index name
    serialize: Callable[[Any], dict[str, Any]] | None = None
    sample: Callable[[], dict[str, Any] | None] | None = None

    def resolve(self, name: str) -> tuple[str, Getter]:
        """Return the canonical field name and its getter; OQLError for an unknown field."""
        lowered = {k.lower(): k for k in self.fields}
        key = name.lower()
        key = self.aliases.get(key, key).lower()
        if key in lowered:
            canonical = lowered[key]
            return canonical, self.fields[canonical]
        sample = self.sample() if self.sample else None
        serialize = self.serialize
        if sample is not None and serialize is not None and _path_exists(sample, name):
            parts = name.split(".")
            return name, lambda rec: _walk(serialize(rec), parts)
        raise OQLError(f"the field {name!r} is not valid in this query")


def _path_exists(obj: Any, path: str) -> bool:
    node = obj
    for part in path.split("."):
        if isinstance(node, list):
            node = next((n for n in node if isinstance(n, dict) and part in n), None)
            if node is None:
                return False
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _walk(obj: Any, parts: Sequence[str]) -> Any:
    values = [obj]
    for part in parts:
        nxt: list[Any] = []
        for value in values:
            items = value if isinstance(value, list) else [value]
            nxt += [i[part] for i in items if isinstance(i, dict) and part in i]
        values = nxt
    flat: list[Any] = []
    for value in values:
        flat += value if isinstance(value, list) else [value]
    return flat[0] if len(flat) == 1 else flat or None


def _norm(value: Any, kind: str | None) -> Any:
    """Normalise a literal or a field value for comparison (case, aliases, types)."""
    if isinstance(value, str):
        text = value.upper()
        if kind == "ws":
            return text.lstrip("/")
        if kind == "common":
            return _COMMON_ALIASES.get(text, text)
        if kind == "internal":
            return _INTERNAL_ALIASES.get(text, text)
        if kind == "states":
            return _STATE_ALIASES.get(text, text)
        return text
    return value


def _coerce(literal: Any, sample: Any) -> Any:
    """Convert a literal to the type of the field value it is compared with."""
    if isinstance(sample, datetime) and isinstance(literal, str):
        try:
            return parse_instant(literal)
        except ValueError as e:
            raise OQLError(f"{literal!r} is not an instant") from e
    if isinstance(sample, timedelta) and isinstance(literal, str):
        try:
            return parse_duration(literal)
        except ValueError as e:
            raise OQLError(f"{literal!r} is not a duration") from e
    if isinstance(sample, bool) and isinstance(literal, str):
        return literal.upper() == "TRUE"
    return literal


def _like(pattern: str) -> re.Pattern[str]:
    regex = "".join(".*" if c == "@" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


_ORDER = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compile_cmp(node: oql.Comparison, entity: Entity) -> Callable[[Any], bool]:
    name, getter = entity.resolve(node.field)
    kind = entity.kinds.get(name)
    op = node.op
    if op in ("LIKE", "NOT LIKE"):
        regex = _like(_norm(node.value, kind) if kind == "ws" else node.value)

        def like_one(value: Any) -> bool:
            if value is None:
                return False
            text = str(value)
            return regex.fullmatch(text.lstrip("/") if kind == "ws" else text) is not None

        def hit_like(rec: Any) -> bool:
            raw = getter(rec)
            return any(map(like_one, raw)) if type(raw) is list else like_one(raw)

        return hit_like if op == "LIKE" else (lambda rec: not hit_like(rec))
    literals = node.value if op in ("IN", "NOT IN") else (node.value,)
    wanted = [_norm(v, kind) for v in literals]
    # Literals converted to the type of the values they meet (instants, durations...), once.
    by_type: dict[type, list[Any]] = {}

    def matches(value: Any) -> bool:
        if type(value) is str:
            value = _norm(value, kind)
        lits = by_type.get(type(value))
        if lits is None:
            lits = by_type[type(value)] = [_coerce(w, value) for w in wanted]
        return value in lits

    def hit_eq(rec: Any) -> bool:
        raw = getter(rec)
        if type(raw) is list:
            return any(map(matches, raw)) or (None in wanted and not raw)
        return matches(raw)

    if op in ("=", "IN"):
        return hit_eq
    if op in ("!=", "NOT IN"):
        return lambda rec: not hit_eq(rec)
    compare = _ORDER[op]
    target = wanted[0]

    def order_one(value: Any) -> bool:
        if value is None or target is None:
            return False
        if type(value) is str:
            value = _norm(value, kind)
        try:
            return bool(compare(value, _coerce(target, value)))
        except TypeError:
            return False

    def hit_order(rec: Any) -> bool:
        raw = getter(rec)
        return any(map(order_one, raw)) if type(raw) is list else order_one(raw)

    return hit_order


def compile_filter(node: oql.Node | None, entity: Entity) -> Callable[[Any], bool]:
    """Compile a parsed filter into a predicate over records of ``entity``."""
    if node is None:
        return lambda rec: True
    if isinstance(node, oql.Comparison):
        return _compile_cmp(node, entity)
    if isinstance(node, oql.Not):
        inner = compile_filter(node.item, entity)
        return lambda rec: not inner(rec)
    parts = [compile_filter(item, entity) for item in node.items]
    if node.op == "AND":
        return lambda rec: all(p(rec) for p in parts)
    return lambda rec: any(p(rec) for p in parts)


def index_keys(node: oql.Node | None, entity: Entity) -> list[tuple[str, list[Any]]]:
    """Return (index, normalised keys) for top-level ``=``/``IN``/``LIKE`` terms on indexes.

    A ``LIKE`` gives ``"<index>:prefix"`` with the literal text before its first wildcard.
    """
    if node is None:
        return []
    terms = list(node.items) if isinstance(node, oql.BoolOp) and node.op == "AND" else [node]
    out = []
    for term in terms:
        if isinstance(term, oql.Comparison) and term.op == "LIKE":
            name, _ = entity.resolve(term.field)
            prefix = re.split(r"[@?]", _norm(term.value, entity.kinds.get(name)), maxsplit=1)[0]
            if name in entity.indexed and prefix:
                out.append((entity.indexed[name] + ":prefix", [prefix]))
        elif isinstance(term, oql.Comparison) and term.op in ("=", "IN"):
            name, _ = entity.resolve(term.field)
            if name in entity.indexed:
                values = term.value if term.op == "IN" else (term.value,)
                kind = entity.kinds.get(name)
                out.append((entity.indexed[name], [_norm(v, kind) for v in values]))
    return out


def sort_records(records: list[Any], order: Sequence[tuple[str, bool]], entity: Entity) -> None:
    """Sort ``records`` in place by the ORDER BY keys (nulls last, stable)."""
    for name, desc in reversed(order):
        _, getter = entity.resolve(name)

        def key(rec: Any, getter: Getter = getter, desc: bool = desc) -> tuple[bool, Any]:
            value = getter(rec)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str):
                value = value.upper()
            return (value is None) != desc, value if value is not None else 0

        records.sort(key=key, reverse=desc)
