"""The facts of a focused question: what a job holds up, or its log, and nothing else.

"What does it block?" after "Why did PAYROLL_EXTRACT abend?" asks one thing about the job the
conversation is about (resync_ext.agents.follow_up reads that from the question). The whole story
(status, cause chain, known issue) was the previous answer; this one shows the job's status line
and the facts asked for, written by code from this turn's evidence, and needs no model call.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from resync_ext.agents.evidence import clip, decisive_lines
from resync_ext.agents.investigate import Investigation, failed, ref
from resync_ext.agents.times import Clock, instant, span
from resync_ext.agents.verdict import duration_line, job_line, runs_line, status_words

MAX_SUCCESSORS = 8
MAX_LOG_LINES = 4
MIN_LOG_LINE = 12  # characters of message in a log line worth quoting


def focused_lines(inv: Investigation) -> list[str] | None:
    """Return the lines that answer ``inv``'s focused question, or None when it is not
    focused (or found no job to focus on): then the whole story is the answer."""
    if inv.focus is None or inv.overview_used or not inv.jobs or inv.missing or inv.ambiguous:
        return None
    job = inv.jobs[0]
    if inv.focus == "past_day" and ran_last_night(job):
        return None  # "why did it fail last night?": the current plan's run is the one asked about
    if inv.focus in ("earlier", "past_day"):
        return _earlier(job)
    lines = [job_line(job)]
    if inv.focus == "runs":
        return [*lines, _runs(job)]
    if inv.focus == "times":
        return [*lines, *_times(job)]
    if inv.focus == "blocks":
        lines += _blocks(inv, job)
    else:
        lines += _log(inv, job)
    return lines


def _blocks(inv: Investigation, job: dict[str, Any]) -> list[str]:
    deps = inv.deps.get(ref(job))
    if deps is None:
        return [f"The dependencies of {job.get('name')} could not be read."]
    succ = [s for s in (deps.get("successors") or {}).get("items", []) if s.get("name")]
    if not succ:
        return [f"No job in the plan depends on {job.get('name')}: it holds nothing up."]
    critical = [s for s in succ if s.get("critical")]
    noun = "job waits" if len(succ) == 1 else "jobs wait"
    lines = [f"{len(succ)} {noun} for {job.get('name')}:"]
    for s in succ[:MAX_SUCCESSORS]:
        mark = ", critical" if s.get("critical") else ""
        lines.append(f"- {ref(s)} {status_words(s)}{mark}")
    if len(succ) > MAX_SUCCESSORS:
        lines.append(f"- and {len(succ) - MAX_SUCCESSORS} more")
    verb = "is" if len(critical) == 1 else "are"
    if critical and failed(job):
        lines.append(
            f"{len(critical)} of them {verb} critical: {'it' if verb == 'is' else 'they'} "
            "cannot start until "
            f"{job.get('name')} is fixed and rerun."
        )
    elif critical:
        lines.append(f"{len(critical)} of them {verb} critical.")
    else:  # "is the successor critical?" is asked as often as what it blocks
        lines.append("It is not a critical job." if len(succ) == 1 else "None of them is critical.")
    return lines


def _log(inv: Investigation, job: dict[str, Any]) -> list[str]:
    # A held job has no log worth reading: the failed job it waits for has the cause.
    cause = next((j for j in inv.chain if failed(j)), None)
    key = ref(job) if ref(job) in inv.logs or cause is None else ref(cause)
    log = inv.logs.get(key)
    if log is None and not ran(next((j for j in [job, *inv.chain] if ref(j) == key), job)):
        return [f"{key} has not started yet in the current plan, so it has no log."]
    if log is None:
        return [f"The log of {key} could not be read."]
    # A bare "ERROR:" says nothing the next line does not: lines with a message only.
    ranked = [x for x in decisive_lines(log) if len(x.strip(" :-*=")) >= MIN_LOG_LINE]
    ranked = ranked[:MAX_LOG_LINES]
    whose = "its log" if key == ref(job) else f"the log of {key}, the failed job it waits for"
    title = f"Error lines of {whose}, the decisive one first:"
    if not ranked:
        ranked = [x for x in str(log.get("tail") or "").splitlines() if x.strip()][-2:]
        title = f"The last lines of {whose}:"
    if not ranked:
        return [f"The log of {key} has no error lines."]
    return [
        title,
        *(f'- "{clip(x, 180)}"' for x in ranked),
    ]


def ran(job: dict[str, Any]) -> bool:
    """Tell whether the job has started in the current plan. The plan holds a run record for
    every job, started or not: only its times say it ran."""
    return bool(job.get("start") or job.get("end"))


def ran_last_night(job: dict[str, Any]) -> bool:
    """Tell whether the job's run in the current plan falls on yesterday or last night, on the
    engine's clock (from midnight yesterday to noon today); True when its times are unknown."""
    clock = Clock.of(job)
    stamps = [t for t in (instant(job.get(k)) for k in ("end", "start")) if t]
    if clock.now is None or not stamps:
        return True
    today = clock.now.astimezone(clock.tz).date()
    since = datetime.combine(today - timedelta(days=1), time(0), clock.tz)
    until = datetime.combine(today, time(12), clock.tz)
    return any(since <= t < until for t in stamps)


def _earlier(job: dict[str, Any]) -> list[str]:
    # The REST API reads one plan at a time and lists no archived plans: what ran before the
    # current plan is not evidence here, and tonight's run must not pass for it.
    name = job.get("name")
    lines = [
        f"Resync reads only the current plan, so it cannot tell how {name} ran in an earlier plan.",
        f"In the current plan: {job_line(job)}",
    ]
    if (runs := runs_line(job)) is not None:
        lines.append(runs)
    lines.append(
        "To see an earlier run, open an archived plan in the Dynamic Workload Console, or in "
        f"conman select it with `setsym` (`listsym` lists them), then `showjobs {ref(job)}`."
    )
    return lines


def _runs(job: dict[str, Any]) -> str:
    """Say whether the job was rerun in the current plan, and how that went."""
    if (said := runs_line(job)) is not None:
        return said
    runs = int(job.get("runs") or 0)
    if runs <= 1 and not ran(job):
        return "It has not started yet in the current plan, so it has not been rerun."
    if runs <= 1:
        return "It has not been rerun in the current plan: this is its only run."
    return f"It has run {runs} times in the current plan, and no run before the last failed."


def _times(job: dict[str, Any]) -> list[str]:
    """Say when the job started and ended in the current plan, and how long it ran."""
    clock = Clock.of(job)
    start, end = instant(job.get("start")), instant(job.get("end"))
    if start is None:
        return ["It has not started yet in the current plan."]
    if end is None:  # running: the status line says since when; the elapsed time follows
        return [x for x in [duration_line(job)] if x] or [f"It started at {clock.at(start)}."]
    took = span((end - start).total_seconds())
    begun, ended = clock.at(start, ago=False), clock.at(end, ago=False)
    return [f"It ran for {took}: it started at {begun} and ended at {ended}."]
