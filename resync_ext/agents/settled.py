"""When nothing needs doing: what a question named is fine, and the facts say so in full.

A small model asked to explain a stream that completed, or a job running inside its estimate,
has nothing true to add: measured on unseen nights, it called a run within its estimate "longer
than expected" and advised investigating the delay. Code says "Nothing needs doing." instead, and
the model is not asked (resync_ext.agents.verdict.needs_explanation covers a single job that
completed; this covers the rest).
"""

from __future__ import annotations

from typing import Any

from resync_ext.agents.investigate import Investigation
from resync_ext.agents.verdict import HEALTHY


def running_well(j: dict[str, Any]) -> bool:
    """Tell whether a job is running inside its estimate, with no deadline to watch."""
    ratio = j.get("elapsed_vs_estimate")
    return (
        j.get("internal_status") == "EXEC"
        and ratio is not None
        and float(ratio) < 1.0
        and not j.get("max_duration_exceeded")
        and not j.get("deadline")
    )


def all_well(inv: Investigation) -> bool:
    """Tell whether everything the question named is fine: each job stream has all its jobs
    completed successfully, or the one job asked about is running well."""
    if inv.missing or inv.unreadable or inv.ambiguous or inv.overview_used:
        return False
    if inv.stations or inv.resource_rows or inv.chain:
        return False
    for s in inv.streams:
        jobs = inv.stream_jobs.get(str(s.get("name"))) or []
        if not jobs or any(j.get("internal_status") not in HEALTHY for j in jobs):
            return False
    if not inv.jobs:
        return bool(inv.streams)
    return len(inv.jobs) == 1 and not inv.streams and running_well(inv.jobs[0])
