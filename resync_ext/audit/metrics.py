"""How good is the auditor? Its verdicts measured against the reviewers' decisions.

Every decided review item pairs what the auditor did with what a human concluded:

=========================  ==============================  ===============================
auditor                    reviewer: answer wrong           reviewer: answer right
                           (rejected, or corrected)         (approved as it was)
=========================  ==============================  ===============================
flagged / auto-rejected    true positive                    false positive (an auto-rejected
                                                            answer restored counts here)
kept (``audited_ok``)      false negative (a spot check     true negative
                           found an error it passed)
=========================  ==============================  ===============================

``auditor_precision = TP / (TP + FP)``: of what the auditor put in front of reviewers, how much
was really wrong. ``auditor_recall = TP / (TP + FN)``: of the wrong answers reviewers found, how
many the auditor had caught. A correction counts as "wrong": the reviewer had to fix the answer,
so the flag was earned. Recall needs spot checks of answers the auditor kept (a reviewer deciding
an ``audited_ok`` memory); without any it is ``None`` with the reason, never a flattering 1.0.

Agreement between reviewers is Cohen's kappa over the items two reviewers decided, on the same
two classes (right / wrong), the first decider as rater A and the next one as rater B::

    p_o = share of items where A and B agree
    p_e = pA(right) * pB(right) + pA(wrong) * pB(wrong)      (agreement expected by chance)
    kappa = (p_o - p_e) / (1 - p_e)

1 is perfect agreement, 0 what chance gives; it is undefined when chance alone explains every
agreement (``p_e = 1``: both raters always chose the same class), and too noisy to report below
``KAPPA_MIN_ITEMS`` items. Both cases answer ``None`` with the reason.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from resync_ext.audit.review_queue import ReviewItem

#: Fewer doubly decided items than this and kappa is not reported (it swings wildly below it).
KAPPA_MIN_ITEMS = 5
#: Thresholds at which the precision of auto-rejection is shown, beside the configured one.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def answer_wrong(item: ReviewItem) -> bool:
    """Tell whether the deciding reviewer found the answer wrong (rejected or corrected it)."""
    return item.status == "rejected" or item.corrected_answer is not None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def confusion(items: Iterable[ReviewItem]) -> dict[str, int]:
    """Count true/false positives and negatives of the auditor's flags among decided items."""
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for item in items:
        if item.status == "pending":
            continue
        flagged = item.auditor_state != "audited_ok"
        wrong = answer_wrong(item)
        key = ("t" if flagged == wrong else "f") + ("p" if flagged else "n")
        c[key] += 1
    return c


def scores(c: dict[str, int]) -> dict[str, Any]:
    """Precision and recall of a confusion count, ``None`` (with why) where undefined."""
    precision = _ratio(c["tp"], c["tp"] + c["fp"])
    recall = _ratio(c["tp"], c["tp"] + c["fn"])
    out: dict[str, Any] = {"precision": precision, "recall": recall, **c}
    if precision is None:
        out["precision_reason"] = "no flagged answer has been decided yet"
    if c["fn"] + c["tn"] == 0:
        # Without a single reviewed answer the auditor kept, missed errors are invisible.
        out["recall"] = None
        out["recall_reason"] = (
            "no answer the auditor kept (audited_ok) has been reviewed: spot-check some to "
            "measure recall"
        )
    elif recall is None:
        out["recall_reason"] = "reviewers found no wrong answer yet"
    return out


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """Cohen's kappa of two raters' binary labels (see the module docstring)."""
    n = len(pairs)
    if n < KAPPA_MIN_ITEMS:
        return {
            "value": None,
            "items": n,
            "reason": f"{n} item(s) decided by two reviewers; kappa needs {KAPPA_MIN_ITEMS}",
        }
    p_o = sum(1 for a, b in pairs if a == b) / n
    a_yes = sum(1 for a, _ in pairs if a) / n
    b_yes = sum(1 for _, b in pairs if b) / n
    p_e = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
    if p_e >= 1.0:
        return {
            "value": None,
            "items": n,
            "reason": "both reviewers gave every item the same label: kappa is undefined",
        }
    return {"value": round((p_o - p_e) / (1 - p_e), 4), "items": n, "reason": None}


def reviewer_pairs(items: Iterable[ReviewItem]) -> list[tuple[bool, bool]]:
    """(A says wrong, B says wrong) for each item the first two distinct reviewers decided."""
    pairs = []
    for item in items:
        seen: dict[str, bool] = {}
        for o in sorted(item.opinions, key=lambda o: o.at):
            seen.setdefault(o.by, o.decision != "approved")
        if len(seen) >= 2:
            a, b = list(seen.values())[:2]
            pairs.append((a, b))
    return pairs


def reviewer_counts(items: Iterable[ReviewItem]) -> dict[str, dict[str, int]]:
    """Decisions per reviewer (every opinion, second opinions included), for progress."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        for o in item.opinions:
            counts[o.by][o.decision] += 1
            counts[o.by]["total"] += 1
    return {
        by: {k: c.get(k, 0) for k in ("approved", "rejected", "corrected", "total")}
        for by, c in sorted(counts.items())
    }


def reject_precision(items: Sequence[ReviewItem], threshold: float) -> dict[str, Any]:
    """How often an "incorrect" verdict at or above a confidence really was wrong.

    It is the precision auto-rejection has at ``threshold`` (``audit_reject_confidence``),
    measured on the decided items whose verdict was "incorrect", and the same at other
    thresholds, so the setting can be chosen from evidence.
    """

    def at(t: float) -> dict[str, Any]:
        hits = [i for i in items if i.verdict == "incorrect" and i.confidence >= t]
        wrong = sum(1 for i in hits if answer_wrong(i))
        return {"threshold": t, "precision": _ratio(wrong, len(hits)), "decided": len(hits)}

    here = at(threshold)
    return {**here, "curve": [at(t) for t in THRESHOLDS]}


def auditor_metrics(items: Iterable[ReviewItem], reject_confidence: float) -> dict[str, Any]:
    """Every measure of the auditor and the reviewers, from the decided review items."""
    decided = [i for i in items if i.status != "pending"]
    overall = scores(confusion(decided))
    by_agent: dict[str, list[ReviewItem]] = defaultdict(list)
    by_day: dict[str, list[ReviewItem]] = defaultdict(list)
    for i in decided:
        by_agent[i.agent_id or "unknown"].append(i)
        by_day[(i.decided_at or "")[:10]].append(i)
    return {
        "auditor_precision": overall["precision"],
        "auditor_recall": overall["recall"],
        "auditor": overall,
        "auditor_by_agent": {a: scores(confusion(v)) for a, v in sorted(by_agent.items())},
        "auditor_by_day": [{"day": d, **scores(confusion(v))} for d, v in sorted(by_day.items())],
        "audit_reject_confidence": reject_confidence,
        "reject_precision": reject_precision(decided, reject_confidence),
        "kappa": cohen_kappa(reviewer_pairs(decided)),
        "reviewers": reviewer_counts(decided),
    }
