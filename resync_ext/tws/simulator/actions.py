"""Plan actions (hold, release, rerun, cancel, kill, confirm, link, fence...) that change the plan.

The read-only client must never call these; they exist so that tests can prove it and demos can
show a fix taking effect. After every action the plan re-derives the state of waiting jobs: a
rerun that succeeds releases the successors that waited for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resync_ext.tws.simulator.errors import ActionRejected, BadRequest
from resync_ext.tws.simulator.model import Job, Prompt, Resource, Stream, Workstation
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.status import NOT_STARTED, TERMINAL

_RUNNING = ("EXEC", "SUCCP", "ABENP", "BOUND")
JOB_ACTIONS = (
    "hold",
    "release",
    "release-all-dependencies",
    "cancel",
    "kill",
    "confirm-succ",
    "confirm-abend",
    "rerun",
)
STREAM_ACTIONS = ("hold", "release", "cancel", "release-all-dependencies")
WORKSTATION_ACTIONS = ("link", "unlink", "start", "stop", "update-limit", "update-fence")


def _label(job: Job) -> str:
    return f"{job.stream.workstation.name}#{job.stream.name}.{job.name}"


def _reject(job: Job, action: str) -> ActionRejected:
    return ActionRejected(
        f"The action {action} cannot be performed on job {_label(job)} in status {job.status}."
    )


def job_action(plan: Plan, job: Job, action: str, body: dict[str, Any] | None = None) -> None:
    """Apply ``action`` to ``job`` (ActionRejected when its state does not allow it)."""
    status = job.status
    if action == "hold":
        if status not in NOT_STARTED:
            raise _reject(job, action)
        job.priority = 0
    elif action == "release":
        if job.priority == 0:
            job.priority = job.orig_priority or 10
    elif action == "release-all-dependencies":
        if status not in NOT_STARTED:
            raise _reject(job, action)
        job.deps_released = True
    elif action == "cancel":
        if status in TERMINAL or status in _RUNNING:
            raise _reject(job, action)
        job.run.status, job.run.substatus = "CANCL", None
    elif action == "kill":
        if status not in _RUNNING:
            raise _reject(job, action)
        run = job.run
        run.status, run.substatus, run.end = "ABEND", None, plan.now
        run.return_code = -1
        run.log = (run.log or "").rstrip("\n") + "\nJob killed by an operator request.\n"
    elif action in ("confirm-succ", "confirm-abend"):
        if status not in ("PEND", "ABEND", "FAIL", "EXEC", "SUCC"):
            raise _reject(job, action)
        run = job.run
        run.status = "SUCC" if action == "confirm-succ" else "ABEND"
        run.substatus, run.confirmed = None, True
        run.end = run.end or plan.now
    elif action == "rerun":
        rerun(plan, job, body or {})
    else:
        raise BadRequest(f"unknown job action {action!r}")


def rerun(plan: Plan, job: Job, body: dict[str, Any]) -> None:
    """Start a new run of a finished job (what the scenario's ``rerun`` says, else EXEC)."""
    if job.status not in TERMINAL:
        raise _reject(job, "rerun")
    priority = body.get("priority")
    if priority is not None:
        if not isinstance(priority, int) or not 0 <= priority <= 101:
            raise BadRequest("priority must be an integer between 0 and 101")
        job.priority = priority
    if isinstance(body.get("userLogin"), str) and body["userLogin"]:
        job.user = body["userLogin"]
    outcome = job.rerun_spec
    if outcome is None:
        plan.new_run(job, "EXEC", "RERUN", plan.now)
        return
    run = plan.new_run(
        job,
        outcome.status.upper(),
        "RERUN",
        plan.now,
        return_code=outcome.return_code,
        log=outcome.log,
    )
    if run.status in TERMINAL:
        run.end = plan.now
        if run.return_code is None and run.status == "SUCC":
            run.return_code = 0


def stream_action(plan: Plan, stream: Stream, action: str) -> None:
    """Apply ``action`` to every job of ``stream`` that has not started."""
    waiting = [j for j in stream.jobs if j.status in NOT_STARTED]
    if action == "hold":
        for job in waiting:
            job.priority = 0
    elif action == "release":
        for job in stream.jobs:
            if job.priority == 0:
                job.priority = job.orig_priority or 10
    elif action == "release-all-dependencies":
        for job in waiting:
            job.deps_released = True
    elif action == "cancel":
        for job in waiting:
            job.run.status, job.run.substatus = "CANCL", None
    else:
        raise BadRequest(f"unknown job stream action {action!r}")


def _int_arg(args: dict[str, str], name: str, low: int, high: int) -> int:
    try:
        value = int(args[name])
    except (KeyError, ValueError) as e:
        raise BadRequest(f"the query parameter {name} must be an integer") from e
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def workstation_action(ws: Workstation, action: str, args: dict[str, str]) -> None:
    """Link, unlink, start, stop a workstation or change its limit or fence."""
    setters: dict[str, Callable[[], None]] = {
        "link": lambda: setattr(ws, "linked", True),
        "unlink": lambda: setattr(ws, "linked", False),
        "start": lambda: setattr(ws, "running", True),
        "stop": lambda: setattr(ws, "running", False),
        "update-limit": lambda: setattr(ws, "limit", _int_arg(args, "limit", 0, 1024)),
        "update-fence": lambda: setattr(ws, "fence", _int_arg(args, "priority", 0, 101)),
    }
    if action not in setters:
        raise BadRequest(f"unknown workstation action {action!r}")
    setters[action]()


def reply_prompt(prompt: Prompt, body: dict[str, Any]) -> None:
    """Answer a prompt (``{"answer": true|false}``)."""
    answer = body.get("answer")
    if not isinstance(answer, bool):
        raise BadRequest('the body must be {"answer": true|false}')
    prompt.status = "ANSWERED_YES" if answer else "ANSWERED_NO"


def update_quantity(res: Resource, args: dict[str, str]) -> None:
    """Change a resource's total quantity (``?quantity=N``)."""
    res.quantity = _int_arg(args, "quantity", 0, 1024)
