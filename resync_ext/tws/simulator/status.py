"""Status vocabulary of the plan: internal → common status, and job-stream status from its jobs.

The tables follow the DWC mapping (tws-api.md §3): internal statuses are what conman shows and
``compositeStatus.status`` carries; the common status is the coarse ``commonStatus`` the
Dynamic Workload Console displays.
"""

from __future__ import annotations

from collections.abc import Iterable

JOB_STATUSES = frozenset(
    {
        "ADD",
        "HOLD",
        "READY",
        "FENCE",
        "INTRO",
        "FAIL",
        "EXEC",
        "WAIT",
        "SUPPR",
        "SUCC",
        "SUCCP",
        "ABEND",
        "CANCL",
        "CANCLP",
        "ABENP",
        "PEND",
        "SUSP",
        "STUCK",
        "EXTRN",
        "ERROR",
        "DONE",
        "BOUND",
        "SCHED",
    }
)

SUBSTATUSES = frozenset(
    {
        "HOLD_WAITING_FOR_PREDECESSOR",
        "HOLD_UNEXPECTED_PREDECESSOR_CONDITION",
        "HOLD_WAITING_FOR_TIME",
        "HOLD_WAITING_FOR_PROMPT",
        "HOLD_WAITING_FOR_FILE",
        "HOLD_WAITING_FOR_INPUT",
        "HOLD_PRIORITY_ZERO",
        "READY_WAITING_FOR_RESOURCES",
        "READY_SUPPRESSED",
        "SUPPR_UNSATISFIED_DEPENDENCY",
        "SUPPR_WORKSTATION_IGNORED",
        "READY_SUBMITTED",
        "READY_WAITING_FOR_LIMIT",
        "READY_WAITING_FOR_AGENT",
        "READY_WAITING_FOR_USER_INTERVENTION",
        "SUCC_DO_NOT_RUN",
        "SUCC_COMPLETED",
    }
)

_COMMON: dict[str, str] = {
    **dict.fromkeys(("ADD", "HOLD", "WAIT", "SCHED", "INTRO", "PEND"), "WAITING"),
    **dict.fromkeys(("READY", "FENCE"), "READY"),
    **dict.fromkeys(("EXEC", "SUCCP", "ABENP", "BOUND"), "RUNNING"),
    "SUCC": "SUCCESSFUL",
    **dict.fromkeys(("ABEND", "FAIL"), "ERROR"),
    **dict.fromkeys(("CANCL", "CANCLP"), "CANCELED"),
    **dict.fromkeys(("SUSP", "STUCK"), "BLOCKED"),
    "SUPPR": "SUPPRESS",
    **dict.fromkeys(("ERROR", "EXTRN", "DONE"), "UNDECIDED"),
}

# Statuses after which the run is over (until a rerun or a confirm).
TERMINAL = frozenset({"SUCC", "ABEND", "FAIL", "CANCL", "SUPPR", "DONE"})
# Statuses of a job that has not started: the ones the plan re-evaluates when something changes.
NOT_STARTED = frozenset({"ADD", "HOLD", "READY", "FENCE", "WAIT", "SCHED", "INTRO"})
# Predecessor statuses that release a follows dependency (a cancelled or suppressed
# predecessor releases its successors, as conman's cancel does).
RELEASING = frozenset({"SUCC", "CANCL", "SUPPR"})
STARTED = frozenset({"EXEC", "SUCCP", "ABENP", "SUCC", "ABEND", "PEND", "DONE", "BOUND"})


def common_status(internal: str, substatus: str | None = None) -> str:
    """Map an internal status (``ABEND``) to the common status (``ERROR``)."""
    if substatus == "HOLD_PRIORITY_ZERO":
        return "HELD"
    return _COMMON.get(internal, "UNDECIDED")


# Internal statuses conman shows that REST API v2 spells otherwise (``JobInPlanStatus``).
DOCUMENTED = {"ADD": "INTRO", "SCHED": "HOLD", "DONE": "END", "BOUND": "STARTED"}


def composite(internal: str, substatus: str | None) -> dict[str, object]:
    """Return the ``compositeStatus`` object of a job or run (document's enum values)."""
    return {
        "status": DOCUMENTED.get(internal, internal),
        "substatus": substatus,
        "canceled": internal in ("CANCL", "CANCLP"),
        "error": internal in ("ABEND", "FAIL"),
        "started": internal in STARTED,
        "cancelPending": internal == "CANCLP",
        "dontRun": internal == "SUPPR",
    }


def stream_status(job_statuses: Iterable[str]) -> str:
    """Derive a job stream's internal status from its jobs' internal statuses."""
    statuses = list(job_statuses)
    seen = set(statuses)
    if not statuses:
        return "SUCC"
    if seen & {"ABEND", "FAIL"}:
        return "ABEND"  # an error stays visible on the stream until the job is fixed
    if seen & {"EXEC", "SUCCP", "ABENP", "BOUND"}:
        return "EXEC"
    if seen <= TERMINAL:
        if seen == {"CANCL"}:
            return "CANCL"
        return "SUCC"
    if seen & STARTED:
        return "EXEC"  # some jobs ended, others still wait: the stream is in progress
    if seen & {"STUCK", "SUSP"}:
        return "STUCK"
    if "READY" in seen or "FENCE" in seen:
        return "READY"
    return "HOLD"


def stream_common_status(internal: str) -> str:
    """Map a job stream's internal status to its common status."""
    return {
        "ABEND": "ERROR",
        "FAIL": "ERROR",
        "EXEC": "RUNNING",
        "SUCC": "SUCCESSFUL",
        "CANCL": "CANCELED",
        "CANCLP": "CANCELED",
        "READY": "READY",
        "STUCK": "BLOCKED",
        "SUPPR": "SUPPRESS",
        "ERROR": "UNDECIDED",
        "EXTRN": "UNDECIDED",
    }.get(internal, "WAITING")
