"""The facts of an answer, written by code from the investigation's findings.

The status line, the root-cause chain, the decisive log line, the known issue and what the job
holds up are rendered here, deterministically, from the tool results of this turn: a small model
copies and merges names, so it never writes them. The model adds the explanation and next steps
after these lines (resync_ext.agents.explain), and the grounding guard checks what it adds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from resync_ext.agents.evidence import (
    clip,
    decisive_lines,
    duration,
    iso_seconds,
    where,
)
from resync_ext.agents.investigate import Investigation, failed, ref
from resync_ext.agents.times import Clock

# What an internal status means, in words an operator reads (tws-api.md "Statuses").
_WORDS = {
    "ABEND": "abended",
    "FAIL": "failed to launch",
    "ERROR": "ended in error",
    "SUCC": "completed successfully",
    "EXEC": "is running",
    "READY": "is ready but has not started",
    "HOLD": "is held, waiting for its dependencies",
    "WAIT": "is waiting",
    "FENCE": "is held back by its workstation's fence",
    "CANCL": "was cancelled",
    "SUPPR": "was suppressed",
    "PEND": "is pending",
    "INTRO": "is being introduced into the plan",
    "SCHED": "is scheduled for later",
    "ABENP": "abended and is waiting for a confirmation",
    "SUCCP": "completed and is waiting for a confirmation",
    "EXTRN": "is an external dependency",
}
_COMMON_WORDS = {
    "SUCCESSFUL": "completed successfully",
    "RUNNING": "is running",
    "WAITING": "is waiting",
    "HELD": "is held",
    "BLOCKED": "is blocked",
    "CANCELED": "was cancelled",
    "UNDECIDED": "has an undecided status",
}
HEALTHY = {"SUCC", "SUCCESSFUL"}


def status_words(j: dict[str, Any]) -> str:
    """Say what a job's status means, from its internal status first."""
    internal = str(j.get("internal_status") or "").upper()
    common = str(j.get("status") or "").upper()
    if internal in _WORDS:
        return _WORDS[internal]
    if common in _COMMON_WORDS:
        return _COMMON_WORDS[common]
    return f"is in status {internal or common or 'unknown'}"


def when(stamp: Any, clock: Clock | None = None) -> str:
    """Say an instant in the engine's zone and how long ago: ``23:01 CET on 23 Nov, 9 h ago``."""
    return (clock or Clock()).at(stamp)


def job_line(j: dict[str, Any], *, due: bool = True) -> str:
    """One sentence: the job, where it runs, what happened to it, with its return code and time;
    ``due=False`` leaves out a critical job's deadline (a deadline line follows and says it)."""
    clock = Clock.of(j)
    place = where(j, "job stream")
    out = f"{j.get('name')}{f' ({place})' if place else ''} {status_words(j)}"
    if j.get("return_code") is not None and (failed(j) or j.get("internal_status") in HEALTHY):
        out += f" with return code {j['return_code']}"
    if j.get("end"):
        out += f" at {when(j['end'], clock)}"
    elif j.get("start") and j.get("internal_status") == "EXEC":
        out += f" since {when(j['start'], clock)}"
    if j.get("critical"):
        out += "; it is a critical job" + (
            f" due by {when(j['deadline'], clock)}" if due and j.get("deadline") else ""
        )
    return out + "."


def runs_line(j: dict[str, Any]) -> str | None:
    """Say what the rerun history means: recovered, or still failing after reruns."""
    runs = j.get("rerun_history") or []
    if len(runs) < 2:
        return None
    bad = [r for r in runs[:-1] if failed(r)]
    if not bad:
        return None
    last, first = runs[-1], bad[0]
    rc = f" with return code {first['return_code']}" if first.get("return_code") is not None else ""
    if last.get("internal_status") in HEALTHY or last.get("status") in HEALTHY:
        return (
            f"It was rerun: an earlier run {status_words(first)}{rc}, and the rerun completed "
            "successfully, so it has recovered."
        )
    if failed(last):
        times = "once" if len(runs) == 2 else f"{len(runs) - 1} times"
        return f"It has been rerun {times} and every run failed."
    return f"It is being rerun after an earlier run {status_words(first)}{rc}."


def duration_line(j: dict[str, Any]) -> str | None:
    """Compare a running job's elapsed time with its estimate (HWA's long-duration check)."""
    if j.get("internal_status") != "EXEC" and j.get("status") != "RUNNING":
        return None
    if not (j.get("elapsed") and j.get("estimated_duration")):
        return None
    ratio = j.get("elapsed_vs_estimate")
    text = (
        f"It has been running for {duration(j['elapsed'])}, against an estimate of "
        f"{duration(j['estimated_duration'])}"
    )
    if ratio and float(ratio) >= 1.5:
        text += f": {ratio} times longer than expected"
    elif ratio is not None:  # rounded to a tenth: 1.0 is about the estimate
        r = float(ratio)
        text += ", within its estimate" if r < 1 else ", about its estimate" if r == 1 else ""
        text += f", a little past its estimate ({ratio} times)" if r > 1 else ""
    if j.get("max_duration_exceeded"):
        text += "; it is past its maximum duration"
    return text + "."


AT_RISK_MARGIN = timedelta(minutes=15)


def _stamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _minutes(seconds: float) -> str:
    m = round(abs(seconds) / 60)
    return f"{m // 60} h {m % 60} min" if m >= 60 else f"{m} min"


BASIS = "if each job on its chain takes its estimated time"


def deadline_line(inv: Investigation, *, basis: bool = True) -> str | None:
    """Project a critical job's finish along its chain (estimated durations) against its deadline.

    HWA Workload Service Assurance style: the chain's running job ends at its start plus its
    estimate (or now, when it is already past it), each held job after it takes its estimate.
    A failed job on the chain means the deadline will be missed until it is fixed; a chain that
    waits on something not running cannot be projected, and says so.
    """
    subject = inv.jobs[0] if inv.jobs else None
    if not subject or not subject.get("deadline") or subject.get("internal_status") in HEALTHY:
        return None
    deadline = _stamp(subject["deadline"])
    if deadline is None:
        return None
    clock = Clock.of(subject)
    due = f"its deadline ({clock.at(subject['deadline'])})"
    root = next((j for j in inv.chain if failed(j)), None)
    if clock.now is not None and deadline <= clock.now:
        # Past already (by the engine's clock): nothing to project, only what holds it.
        missed = f"It has missed its deadline ({clock.at(subject['deadline'])})"
        if root is not None or failed(subject):
            return (
                f"{missed}; nothing after a failed job can run until {ref(root or subject)} "
                "is fixed and rerun."
            )
        return f"{missed}; it {status_words(subject)}."
    if root is not None or failed(subject):
        blocker = root or subject
        return (
            f"It will miss {due} unless {ref(blocker)} is fixed and rerun: nothing after a "
            "failed job can run."
        )
    order = [*reversed(inv.chain), subject]  # the running end of the chain first
    first = order[0]
    if first.get("internal_status") != "EXEC":
        return f"Its finish cannot be projected: {ref(first)} {status_words(first)}; {due}."
    start, est = _stamp(first.get("start")), iso_seconds(first.get("estimated_duration"))
    elapsed = iso_seconds(first.get("elapsed"))
    if start is None or est is None:
        return None
    end = start + timedelta(seconds=max(est, elapsed or 0.0))
    for j in order[1:]:
        step = iso_seconds(j.get("estimated_duration"))
        if step is None:
            return f"Its finish cannot be projected: {ref(j)} has no estimated duration; {due}."
        end += timedelta(seconds=step)
    margin = (deadline - end).total_seconds()
    why = f", {BASIS}." if basis else "."
    if elapsed is not None and elapsed > est:
        # Past its estimate, the running job has no known end: the projection assumes it ends
        # now, so it is the best case.
        why = f"{why[:-1]}, even if {ref(first)}, already past its estimate, ended now."
    if margin < 0:
        return f"It will miss {due} by about {_minutes(margin)}{why}"
    if timedelta(seconds=margin) <= AT_RISK_MARGIN:
        return f"It is at risk: it would end only about {_minutes(margin)} before {due}{why}"
    return f"It is on time: it would end about {_minutes(margin)} before {due}{why}"


def _quote(log: dict[str, Any]) -> str | None:
    ranked = decisive_lines(log)
    return clip(ranked[0], 180) if ranked else None


def _issue(match: dict[str, Any]) -> str:
    # Rule text is the product's own knowledge base; its id is for machines, the title for people.
    cause = clip(match.get("cause"), 200, mask=False).rstrip(".")
    return f"Known issue, {match.get('title')}: {cause}."


def _successors(inv: Investigation, key: str) -> str | None:
    deps = inv.deps.get(key) or {}
    succ = [s for s in (deps.get("successors") or {}).get("items", []) if s.get("name")]
    if not succ:
        return None
    names = [f"{s['name']}{' (critical)' if s.get('critical') else ''}" for s in succ[:5]]
    more = f" and {len(succ) - 5} more" if len(succ) > 5 else ""
    noun = "job" if len(succ) == 1 else "jobs"
    return f"Blocks {len(succ)} {noun}: {', '.join(names)}{more}."


def waits_line(inv: Investigation, j: dict[str, Any]) -> str | None:
    """Say what a held job waits for when it is not another job: a prompt, a file, a resource."""
    deps = inv.deps.get(ref(j)) or {}
    other = [
        str(h.get("dependency"))
        for h in deps.get("held_by") or []
        if h.get("dependency") and not str(h.get("dependency")).lower().startswith("job ")
    ]
    if not other:
        return None
    return f"{j.get('name')} waits for {'; '.join(clip(x, 140) for x in other[:3])}."


def station_line(row: dict[str, Any], jobs: list[dict[str, Any]]) -> str:
    """One sentence on a workstation: linked or not, and the jobs left waiting on it."""
    problems = row.get("problems") or []
    text = f"Workstation {row.get('name')} " + (
        f"has problems: {', '.join(map(str, problems))}" if problems else "is linked and running"
    )
    if jobs:
        names = ", ".join(f"{j.get('name')} ({status_words(j)})" for j in jobs[:5])
        text += f"; {len(jobs)} job{'s' if len(jobs) > 1 else ''} not done on it: {names}"
    return text + "."


def stream_line(s: dict[str, Any], jobs: list[dict[str, Any]]) -> str:
    """One sentence on a job stream: its status and job counts."""
    done = [j for j in jobs if j.get("internal_status") in HEALTHY]
    text = f"Job stream {s.get('name')} {status_words(s)}"
    if jobs:
        text += f": {len(done)} of {len(jobs)} jobs completed successfully"
        last = Clock.of(*jobs).last(j.get("end") for j in jobs)
        if last and len(done) == len(jobs):
            text += f", the last at {last}"
    return text + "."


def facts_lines(inv: Investigation) -> list[str]:
    """Return the code-written lines of a troubleshooting answer (may be empty)."""
    lines: list[str] = []
    for name, closest in inv.missing:
        text = (
            f"{name} is not in the current plan: no job, job stream, workstation or resource "
            "has that name."
        )
        lines.append(text + (f" Did you mean {' or '.join(closest)}?" if closest else ""))
    for name, why in inv.unreadable:
        lines.append(
            f"{name} could not be looked up: the plan could not be read ({clip(why, 160)}). "
            "Nothing here says what happened to it; ask again once TWS answers."
        )
    for name, refs in inv.ambiguous:
        lines.append(f"{name} matches several jobs: {', '.join(refs)}. Which one do you mean?")
    if inv.overview_used:
        return lines
    for row in inv.stations:  # a workstation asked about; a job's own comes after its story
        if str(row.get("name")) in inv.station_jobs:
            lines.append(station_line(row, inv.station_jobs[str(row.get("name"))]))
    for s in inv.streams:
        lines.append(stream_line(s, inv.stream_jobs.get(str(s.get("name"))) or []))
    for r in inv.resource_rows:
        held = ", ".join(map(str, r.get("holders") or []))
        lines.append(
            f"Resource {r.get('name')}: {r.get('available', 0)} of {r.get('quantity', '?')} "
            "available" + (f", held by {held}." if held else ".")
        )
    if not inv.jobs:
        return lines
    subject = inv.jobs[0]
    deadline = deadline_line(inv)
    lines.append(job_line(subject, due=not deadline))
    lines += [x for x in (runs_line(subject), duration_line(subject)) if x]
    if inv.chain:
        path = ", which waits for ".join(ref(j) for j in inv.chain)
        lines.append(f"It waits for {path}.")
    if deadline:
        lines.append(deadline)
    end = inv.chain[-1] if inv.chain else subject
    waits = waits_line(inv, end)
    if waits:
        lines.append(waits)
    for row in inv.stations:
        if row.get("name") == end.get("workstation") and row.get("name") not in inv.station_jobs:
            lines.append(station_line(row, []))
    if inv.resources and inv.resources.startswith("Exhausted"):
        lines.append(inv.resources)
    root = next((j for j in inv.chain if failed(j)), None)
    cause_job = root or (subject if failed(subject) else None)
    if cause_job is not None:
        key = ref(cause_job)
        if cause_job is not subject:
            lines.append(f"The root cause: {job_line(cause_job)}")
        log = inv.logs.get(key)
        quote = _quote(log) if log else None
        if quote:
            lines.append(f'Cause: the job log says "{quote}".')
        match = inv.issues.get(key)
        if match:
            lines.append(_issue(match))
        blocks = _successors(inv, key)
        if blocks:
            lines.append(blocks)
    elif inv.chain and inv.chain[-1].get("internal_status") in {"EXEC"}:
        lines.append(f"The chain waits on a running job: {job_line(inv.chain[-1])}")
        running = duration_line(inv.chain[-1])
        if running:
            lines.append(running)
    return lines


def needs_explanation(inv: Investigation) -> bool:
    """Tell whether the model has anything to explain beyond the code-written facts.

    Nothing when the question named only things the plan does not have, or one job that
    completed successfully with nothing held behind it: the facts are the whole answer.
    """
    if inv.overview_used or inv.streams or inv.stations or inv.resource_rows:
        return True
    if not inv.jobs:
        return False
    return not (len(inv.jobs) == 1 and healthy(inv) and not inv.missing)


def healthy(inv: Investigation) -> bool:
    """Tell whether the asked job is done and fine: succeeded (a rerun that recovered counts)
    with nothing held behind it."""
    if not inv.jobs or inv.chain:
        return False
    j = inv.jobs[0]
    deps = inv.deps.get(ref(j)) or {}
    held = [
        s
        for s in (deps.get("successors") or {}).get("items", [])
        if s.get("status") in {"HELD", "HOLD"} or s.get("internal_status") == "HOLD"
    ]
    return j.get("internal_status") in HEALTHY and not held
