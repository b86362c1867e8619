"""Job logs (stdlist) as the engine returns them: header, job output, trailer (tws-api.md §4.4)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from resync_ext.tws.simulator.errors import NotFound
from resync_ext.tws.simulator.model import Job, Run
from resync_ext.tws.simulator.plan import Plan, spread
from resync_ext.tws.simulator.timeutil import hms

_RULE = "=" * 63


def _zone(plan: Plan) -> ZoneInfo:
    try:
        return ZoneInfo(plan.engine.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _stamp(plan: Plan, when: datetime) -> str:
    local = when.astimezone(_zone(plan))
    return local.strftime("%a %b %d %H:%M:%S %Z %Y")


def default_output(job: Job, run: Run) -> str:
    """Return plausible output for a run whose scenario gives no log."""
    rows = spread(run.id, 1_000, 2_000_000)
    lines = [
        f"+ {job.command}",
        f"{job.name}: starting (run {run.attempt}, stream {job.stream.name})",
        f"{job.name}: environment loaded from /etc/profile.d/{job.stream.name.lower()}.sh",
    ]
    if run.status == "SUCC":
        lines += [f"{job.name}: processed {rows} records", f"{job.name}: completed successfully"]
    elif run.status in ("EXEC", "SUCCP", "ABENP"):
        lines += [f"{job.name}: processed {rows // 3} records so far"]
    elif run.status == "ABEND":
        lines += [f"{job.name}: terminated with exit code {run.return_code}"]
    elif run.status == "FAIL":
        lines = [
            f'AWSBHT001E The job "{job.workstation.name}#{job.stream.name}.{job.name}" in file '
            f'"{job.command}" has failed with the error: exec failed'
        ]
    return "\n".join(lines)


def render(plan: Plan, job: Job, run: Run, content_only: bool = False) -> str:
    """Return the job log of one run; NotFound when the run has not started."""
    if run.start is None:
        raise NotFound(
            f"No job log is available for run {run.id}: the job "
            f"{job.workstation.name}#{job.stream.name}.{job.name} has not started."
        )
    output = (run.log if run.log is not None else default_output(job, run)).rstrip("\n")
    if content_only:
        return output + "\n"
    sched = job.stream.sched_time.astimezone(_zone(plan)).strftime("%H%M %m/%d/%y")
    task = "TASK      " if job.workstation.type in ("AGENT", "POOL", "D-POOL") else "JCLFILE   "
    lines = [
        _RULE,
        f"= JOB       : {job.workstation.name}#{job.stream.name}[({sched}),"
        f"({job.stream.jsid})].{job.name}",
        f"= USER      : {job.user}",
        f"= {task}: {job.command}",
        "= TWSRCMAP  :",
        f"= AGENT     : {job.workstation.name}",
        f"= Job Number: {run.job_number}",
        f"= {_stamp(plan, run.start)}",
        _RULE,
        output,
    ]
    if run.end is not None and run.status not in ("EXEC", "FAIL"):
        elapsed = run.end - run.start
        code = run.return_code if run.return_code is not None else 0
        lines += [
            _RULE,
            f"= Exit Status           : {code}",
            f"= Elapsed Time (hh:mm:ss) : {hms(elapsed)}",
            f"= Job CPU usage (ms) : {spread(run.id + 'cpu', 10, 90_000)}",
            f"= Job Memory usage (kb) : {spread(run.id + 'mem', 900, 250_000)}",
            f"= {_stamp(plan, run.end)}",
            _RULE,
        ]
    return "\n".join(lines) + "\n"


def select_lines(text: str, from_line: int | None, to_line: int | None) -> str:
    """Return lines ``from_line``..``to_line`` (1-based, inclusive) of a log."""
    if from_line is None and to_line is None:
        return text
    lines = text.splitlines(keepends=True)
    start = max(1, from_line or 1) - 1
    end = len(lines) if to_line is None else max(start, to_line)
    return "".join(lines[start:end])
