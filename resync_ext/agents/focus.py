"""The facts of a focused question: what a job holds up, or its log, and nothing else.

"What does it block?" after "Why did PAYROLL_EXTRACT abend?" asks one thing about the job the
conversation is about (resync_ext.agents.follow_up reads that from the question). The whole story
(status, cause chain, known issue) was the previous answer; this one shows the job's status line
and the facts asked for, written by code from this turn's evidence, and needs no model call.
"""

from __future__ import annotations

from typing import Any

from resync_ext.agents.evidence import clip, decisive_lines
from resync_ext.agents.investigate import Investigation, failed, ref
from resync_ext.agents.verdict import job_line, status_words

MAX_SUCCESSORS = 8
MAX_LOG_LINES = 4
MIN_LOG_LINE = 12  # characters of message in a log line worth quoting


def focused_lines(inv: Investigation) -> list[str] | None:
    """Return the lines that answer ``inv``'s focused question, or None when it is not
    focused (or found no job to focus on): then the whole story is the answer."""
    if inv.focus is None or not inv.jobs or inv.missing or inv.ambiguous:
        return None
    job = inv.jobs[0]
    lines = [job_line(job)]
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
    if critical and failed(job):
        lines.append(
            f"{len(critical)} of them {'is' if len(critical) == 1 else 'are'} critical: they "
            f"cannot start until {job.get('name')} is fixed and rerun."
        )
    return lines


def _log(inv: Investigation, job: dict[str, Any]) -> list[str]:
    # A held job has no log worth reading: the failed job it waits for has the cause.
    cause = next((j for j in inv.chain if failed(j)), None)
    key = ref(job) if ref(job) in inv.logs or cause is None else ref(cause)
    log = inv.logs.get(key)
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
