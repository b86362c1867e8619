"""Reporting: one line per case, the pass rate per tag, grounding, turn times, the JSON results
and, last, ``N passed, M failed``."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from resync_ext.evaluation.cases import CaseResult


def print_result(r: CaseResult) -> None:
    """Print the line of one case: PASS or FAIL, its agent, its seconds and what went wrong."""
    mark = "PASS" if r.passed else "FAIL"
    print(
        f"{mark} {r.case} [{r.agent}] {r.seconds:.1f}s"
        + ("" if r.passed else f": {'; '.join(r.problems)}"),
        flush=True,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest-rank; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n*q), at least 1
    return ordered[int(rank) - 1]


def tag_table(results: Sequence[CaseResult]) -> dict[str, dict[str, int]]:
    """Passed and total cases per tag (``untagged`` for cases without one)."""
    table: dict[str, dict[str, int]] = {}
    for r in results:
        for tag in r.tags or ["untagged"]:
            row = table.setdefault(tag, {"passed": 0, "total": 0})
            row["total"] += 1
            row["passed"] += r.passed
    return dict(sorted(table.items()))


def summary_lines(results: Sequence[CaseResult]) -> list[str]:
    """The per-tag pass rates, the grounding and degeneracy counts and the turn times."""
    lines = ["pass rate per tag:"]
    for tag, row in tag_table(results).items():
        rate = 100 * row["passed"] / row["total"]
        lines.append(f"  {tag:<16} {row['passed']:>3}/{row['total']:<3} {rate:5.1f}%")
    ungrounded = sum(len(r.ungrounded) for r in results)
    checked = sum(r.claims_checked for r in results)
    lines.append(
        f"grounding: {ungrounded} ungrounded of {checked} claims checked, in "
        f"{sum(bool(r.ungrounded) for r in results)} answers; "
        f"degenerate answers: {sum(r.degenerate for r in results)}"
    )
    turns = [s for r in results for s in r.turn_seconds]
    lines.append(
        f"seconds per turn: median {statistics.median(turns) if turns else 0.0:.2f}, "
        f"p90 {percentile(turns, 0.9):.2f} ({len(turns)} turns)"
    )
    return lines


def write_json(results: Sequence[CaseResult], out: Path, *, sequence: bool) -> None:
    """Write the results, their totals, turn times and per-tag table to ``out``."""
    passed = sum(r.passed for r in results)
    turns = [s for r in results for s in r.turn_seconds]
    out.write_text(
        json.dumps(
            {
                "passed": passed,
                "failed": len(results) - passed,
                "mode": "sequence" if sequence else "isolated",
                "seconds": round(sum(sum(r.turn_seconds) for r in results), 1),
                "turn_seconds": {
                    "median": statistics.median(turns) if turns else 0.0,
                    "p90": percentile(turns, 0.9),
                    "turns": len(turns),
                },
                "by_tag": tag_table(results),
                "ungrounded_claims": sum(len(r.ungrounded) for r in results),
                "degenerate_answers": sum(r.degenerate for r in results),
                "cases": [asdict(r) for r in results],
            },
            indent=2,
            default=str,
        )
    )


def report(results: Sequence[CaseResult], json_out: Path | None, *, sequence: bool) -> bool:
    """Print the summary, write the JSON results if asked, and last ``N passed, M failed``.

    Return whether every case passed.
    """
    passed = sum(r.passed for r in results)
    for line in summary_lines(results):
        print(line)
    if json_out is not None:
        write_json(results, json_out, sequence=sequence)
    print(f"{passed} passed, {len(results) - passed} failed")
    return passed == len(results)
