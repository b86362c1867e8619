"""Strict mode: the simulator holds requests and answers to the product's document (v2, 10.1.0.1).

In strict mode (the default) the simulator behaves like an engine that enforces its document:

- ``Accept`` is honoured: an endpoint serves one media type (``application/json`` for the plan,
  ``text/plain; charset=utf-8`` for job logs) and answers **406** when ``Accept`` excludes it;
- a parameter the document marks required and that is missing is **400** (``plan_filter`` on
  ``/plan/job/count`` and ``/plan/jobstream/count``);
- no ``null`` is sent: the document declares no field nullable, so a value the plan does not
  have is left out, and ``count`` is left out of a page asked with ``Include-Count: false``.

Lenient mode (``--lenient``) answers as the first simulator did: any ``Accept``, no required
parameter, ``null`` for what is absent. Enum values are the document's in both modes.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"
TEXT = "text/plain"


def accepts(header: str | None, media: str) -> bool:
    """Return whether an ``Accept`` header admits ``media`` (no header admits everything)."""
    if not header or not header.strip():
        return True
    kind, _, sub = media.partition("/")
    for item in header.split(","):
        mtype, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        want_kind, _, want_sub = mtype.lower().partition("/")
        if want_kind == "*" or (want_kind == kind and want_sub in ("*", sub)):
            return True
    return False


def without_nulls(value: Any) -> Any:
    """Return ``value`` with every ``None`` left out of objects and lists, recursively."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value
