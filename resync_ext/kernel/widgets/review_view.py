"""What the review panel shows: which items, in which order, and the lines above the cards.

Pure functions over the server's review items (dicts as ``GET /resync/api/audit/flags/{name}``
answers them), so the panel's filters, sorting and counts are tested without widgets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from resync_ext.kernel.widgets.review_card import item_text

#: The auditor's verdicts, worst first (the order "verdict" sorts by).
VERDICT_ORDER = ("incorrect", "suspicious", "ok")
SORTS: list[tuple[str, str]] = [
    ("Queue order", "queue"),
    ("Verdict, worst first", "verdict"),
    ("Confidence, highest first", "confidence_desc"),
    ("Confidence, lowest first", "confidence_asc"),
    ("Agent", "agent"),
]
ALL = ""


def confidence(item: dict[str, Any]) -> float:
    """The auditor's confidence in its verdict, 0..1 (0 when missing)."""
    try:
        return float(item.get("confidence") or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _verdict_rank(item: dict[str, Any]) -> int:
    verdict = str(item.get("verdict") or "")
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def filter_items(
    items: list[dict[str, Any]],
    *,
    pending_only: bool = False,
    agent: str = ALL,
    verdict: str = ALL,
    min_confidence: float = 0.0,
    search: str = "",
) -> list[dict[str, Any]]:
    """The items every filter lets through (``ALL`` lets any agent or verdict through)."""
    words = search.lower().split()
    return [
        i
        for i in items
        if not (pending_only and i.get("status") != "pending")
        and not (agent and i.get("agent_id") != agent)
        and not (verdict and i.get("verdict") != verdict)
        and confidence(i) >= min_confidence
        and all(w in item_text(i) for w in words)
    ]


def sort_items(items: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """The items in ``order`` (one of :data:`SORTS`); ties keep the queue's order."""
    if order == "verdict":
        return sorted(items, key=lambda i: (_verdict_rank(i), -confidence(i)))
    if order == "confidence_desc":
        return sorted(items, key=lambda i: -confidence(i))
    if order == "confidence_asc":
        return sorted(items, key=confidence)
    if order == "agent":
        return sorted(items, key=lambda i: str(i.get("agent_id") or ""))
    return list(items)


def verdicts_of(items: list[dict[str, Any]]) -> list[str]:
    """The verdicts present, worst first."""
    present = {str(i.get("verdict")) for i in items if i.get("verdict")}
    return sorted(present, key=lambda v: (_verdict_rank({"verdict": v}), v))


def decided_today(items: list[dict[str, Any]], reviewer: str, today: str | None = None) -> int:
    """How many of ``items`` ``reviewer`` decided on ``today`` (UTC ``YYYY-MM-DD``)."""
    day = today or datetime.now(UTC).date().isoformat()
    return sum(
        1
        for i in items
        if i.get("status") != "pending"
        and i.get("decided_by") == reviewer
        and str(i.get("decided_at") or "").startswith(day)
    )


def progress_text(reviewer: str, decided: int, left: int) -> str:
    """The reviewer's own count: decided today, and what is left in the open batches."""
    who = f"you ({reviewer})" if reviewer else "you"
    return f"{who}: {decided} decided today, {left} left"


def _number(value: Any) -> float | None:
    """A measure's value: a number, or the ``value`` of ``{"value", "items", "reason"}``."""
    if isinstance(value, dict):
        value = value.get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def metrics_text(metrics: dict[str, Any]) -> str:
    """The auditor measured against reviewers: precision, recall and κ, those that are known."""
    parts = []
    for key, label, fmt in (
        ("auditor_precision", "precision", "{:.0%}"),
        ("auditor_recall", "recall", "{:.0%}"),
        ("kappa", "κ between reviewers", "{:.2f}"),
    ):
        value = _number(metrics.get(key))
        if value is not None:
            parts.append(f"{label} {fmt.format(value)}")
    if not parts:
        return "Auditor vs reviewers: not measured yet (no flagged item decided)."
    threshold = _number(metrics.get("audit_reject_confidence"))
    if threshold is not None:
        parts.append(f"auto-reject at confidence ≥ {threshold:.2f}")
    return "Auditor vs reviewers: " + " · ".join(parts)
