"""Translate Mem0's filter dictionaries into Qdrant Edge ``Filter`` objects.

Mem0 hands every vector store the same small language (see ``Memory.search``): ``{"key": value}``
for equality, a list for "any of", ``"*"`` for "anything", operator dicts (``eq``, ``ne``, ``in``,
``nin``, ``gt``, ``gte``, ``lt``, ``lte``, ``contains``, ``icontains``) and ``AND``/``OR``/``NOT``
lists (also spelt ``$and``/``$or``/``$not``). Qdrant Edge is the same engine as Qdrant's server,
so each maps to the condition Mem0's own Qdrant adapter would build.
"""

from __future__ import annotations

import re
from typing import Any

_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_LOGICAL = {"AND": "AND", "OR": "OR", "NOT": "NOT", "$and": "AND", "$or": "OR", "$not": "NOT"}
_RANGE_OPS = ("gt", "gte", "lt", "lte")


def to_edge_filter(filters: dict[str, Any] | None) -> Any:
    """Return the Edge ``Filter`` for a Mem0 filter dict, or None when it filters nothing."""
    import qdrant_edge as qe

    if not filters:
        return None
    must: list[Any] = []
    should: list[Any] = []
    must_not: list[Any] = []
    seen: set[str] = set()
    for key, value in filters.items():
        logical = _LOGICAL.get(key)
        if logical is None:
            cond = _condition(key, value)
            if cond is not None:
                must.append(cond)
            continue
        if logical in seen:  # Mem0 may pass both "OR" and "$or" for the same clauses
            continue
        seen.add(logical)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValueError(f"{key} expects a list of filter dicts, got {value!r}")
        subs = [f for f in (to_edge_filter(v) for v in value) if f is not None]
        {"AND": must, "OR": should, "NOT": must_not}[logical].extend(subs)
    if not (must or should or must_not):
        return None
    return qe.Filter(must=must or None, should=should or None, must_not=must_not or None)


def _condition(key: str, value: Any) -> Any:
    import qdrant_edge as qe

    if not isinstance(value, dict):
        if value == "*":
            return None
        if isinstance(value, list):
            return qe.FieldCondition(key=key, match=qe.MatchAny(list(value)))
        return qe.FieldCondition(key=key, match=qe.MatchValue(value))
    ops = set(value)
    ranges = {op: value[op] for op in _RANGE_OPS if op in value}
    if ranges:
        if ops - set(ranges):
            raise ValueError(f"cannot mix range and other operators on {key!r}: {sorted(ops)}")
        if all(isinstance(v, str) and _ISO_DATETIME.match(v) for v in ranges.values()):
            return qe.FieldCondition(key=key, range=qe.RangeDateTime(**ranges))
        return qe.FieldCondition(key=key, range=qe.RangeFloat(**ranges))
    if "eq" in value:
        return qe.FieldCondition(key=key, match=qe.MatchValue(value["eq"]))
    if "ne" in value:
        return qe.FieldCondition(key=key, match=qe.MatchExcept([value["ne"]]))
    if "in" in value:
        return qe.FieldCondition(key=key, match=qe.MatchAny(list(value["in"])))
    if "nin" in value:
        # MatchExcept's runtime signature is (except), positional: the stub's except_= is wrong.
        return qe.FieldCondition(key=key, match=qe.MatchExcept(list(value["nin"])))
    if "contains" in value or "icontains" in value:
        return qe.FieldCondition(
            key=key, match=qe.MatchText(str(value.get("contains", value.get("icontains"))))
        )
    raise ValueError(f"unsupported filter operator(s) on {key!r}: {sorted(ops)}")
