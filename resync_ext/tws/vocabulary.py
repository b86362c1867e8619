"""HWA's status vocabulary and the OQL terms built from it.

Two views of one status: the internal status (``compositeStatus.status``: ``ABEND``, ``HOLD``...)
that conman shows, and the common status (``commonStatus``: ``ERROR``, ``WAITING``...) that the
Dynamic Workload Console shows. The ``DOCUMENTED_*`` sets are the enum values of REST API v2
(10.1.0.1: ``JobInPlanStatus``, ``JobInPlanSubStatus``, ``CommonStatusV2``); a value outside them
comes from a newer engine and is shown as is, with a note, never refused.
"""

from __future__ import annotations

import re

from .errors import TWSBadRequest

# Internal (conman / compositeStatus.status) → common status, after the DWC mapping table.
COMMON_STATUS: dict[str, str] = {
    **dict.fromkeys(("ADD", "HOLD", "WAIT", "WAITD", "SCHED", "INTRO", "PEND"), "WAITING"),
    **dict.fromkeys(("ARRVING", "PENDPRED"), "WAITING"),
    "READY": "READY",
    "FENCE": "READY",
    "NONREPPRED": "READY_PREV_WS_NONREP",
    **dict.fromkeys(("EXEC", "SUCCP", "ABENP", "BOUND", "STARTED"), "RUNNING"),
    "SUCC": "SUCCESSFUL",
    **dict.fromkeys(("ABEND", "FAIL", "FAILED"), "ERROR"),
    **dict.fromkeys(("CANCL", "CANCEL", "CANCLP"), "CANCELED"),
    **dict.fromkeys(("SUSP", "STUCK"), "BLOCKED"),
    "USER STAT": "HELD",
    **dict.fromkeys(("SUPPR", "SUPPRESS"), "SUPPRESS"),
    **dict.fromkeys(("ERROR", "EXTRN", "DONE", "UNDCDED", "END"), "UNDECIDED"),
    "INTRPT": "INTERRUPTED",
    "COMPLT": "COMPLETED",
}
FAILED_INTERNAL = frozenset({"ABEND", "FAIL", "FAILED"})
TERMINAL_INTERNAL = frozenset(
    {"SUCC", "ABEND", "FAIL", "FAILED", "CANCL", "CANCEL", "SUPPR", "SUPPRESS", "DONE", "COMPLT"}
)
TERMINAL_COMMON = frozenset(
    {"SUCCESSFUL", "ERROR", "CANCELED", "SUPPRESS", "COMPLETED", "DUMMY_COMPLETED"}
)

# The enum values REST API v2 documents (10.1.0.1).
DOCUMENTED_COMMON = frozenset(
    {
        "WAITING",
        "WAITING_FOR_TRIGGER",
        "READY",
        "READY_PREV_WS_NONREP",
        "COMPLETED",
        "SUPPRESS_BY_COND",
        "INTERRUPTED",
        "DUMMY_COMPLETED",
        "RUNNING",
        "SUCCESSFUL",
        "ERROR",
        "CANCELED",
        "HELD",
        "UNDECIDED",
        "BLOCKED",
        "SUPPRESS",
    }
)
DOCUMENTED_INTERNAL = frozenset(
    [
        "HOLD",
        "READY",
        "FENCE",
        "INTRO",
        "FAIL",
        "EXEC",
        "WAIT",
        "SUPPR",
        "END",
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
        "INTRPT",
        "COMPLT",
        "ERROR",
        "PENDPRED",
        "STARTED",
        "UNDCDED",
        "ARRVING",
        "NONREPPRED",
    ]
)
DOCUMENTED_STREAM_INTERNAL = frozenset(
    [
        "READY",
        "HOLD",
        "EXEC",
        "ABEND",
        "CANCL",
        "CANCLP",
        "SUCC",
        "UNKNOWN",
        "ADD",
        "FAIL",
        "WAIT",
        "INTRO",
        "ABENP",
        "SUCCP",
        "SUSP",
        "STUCK",
        "PEND",
        "BOUND",
        "SUPPR",
        "EXTRN",
        "COMPLETE",
        "DELETED",
        "ERROR",
        "PENDINGPRED",
        "STARTED",
        "UNDECIDED",
        "WAITFORINPUT",
        "INTERRUPTED",
        "NONREPORTINGPRED",
        "SUPPRBYCOND",
    ]
)
DOCUMENTED_SUBSTATUS = frozenset(
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
        # job streams (JobStreamInPlanSubStatus)
        "WAITING_FOR_RESOURCE",
        "WAITING_FOR_USER_INTERVENTION",
    }
)

# What people type for a status → the word HWA uses.
STATUS_ALIASES = {
    "FAILED": "ERROR",
    "FAILURE": "ERROR",
    "ABENDED": "ABEND",
    "SUCCESS": "SUCCESSFUL",
    "SUCCEED": "SUCCESSFUL",
    "RUNNING": "RUNNING",
    "HELD": "HELD",
    "CANCELLED": "CANCELED",
}
COMMON_WORDS = frozenset(COMMON_STATUS.values()) | {"SUCCESSFUL", "HELD"}

# OQL field names as the document spells them (JobInPlanV2 / JobStreamInPlanV2).
JOB_COMMON_FIELD = "jobruns.commonStatus"
JOB_INTERNAL_FIELD = "jobruns.compositeStatus.status"
STREAM_COMMON_FIELD = "commonStatus"
STREAM_INTERNAL_FIELD = "compositeStatus.status"


def oql_literal(value: str) -> str:
    """Quote a value for OQL; refuses quotes so a name can never change the query."""
    if "'" in value or "\\" in value:
        raise TWSBadRequest(f"invalid characters in {value!r}")
    return f"'{value}'"


def common_status(internal: str | None, substatus: str | None = None) -> str | None:
    """Map an internal status (``ABEND``) to the common status (``ERROR``)."""
    if not internal:
        return None
    if substatus == "HOLD_PRIORITY_ZERO":
        return "HELD"
    return COMMON_STATUS.get(internal.upper(), "UNDECIDED")


def short_name(key: str | None) -> str:
    """Strip the folder from a product key (``/FOLDER/AGT_LNX01`` → ``AGT_LNX01``)."""
    return (key or "").rstrip("/").rsplit("/", 1)[-1]


def status_words(status: str) -> list[str]:
    """Split ``"abend, fail"`` into HWA words (``["ABEND", "FAIL"]``), aliases resolved."""
    return [STATUS_ALIASES.get(s, s) for s in re.split(r"[,\s]+", status.upper()) if s]


def status_clause(status: str) -> str:
    """Build the OQL term for a status (common such as ERROR, or internal such as ABEND)."""
    values = status_words(status)
    common = [v for v in values if v in COMMON_WORDS]
    internal = [v for v in values if v not in common]
    terms = []
    if common:
        terms.append(f"{JOB_COMMON_FIELD} IN [{', '.join(oql_literal(v) for v in common)}]")
    if internal:
        terms.append(f"{JOB_INTERNAL_FIELD} IN [{', '.join(oql_literal(v) for v in internal)}]")
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def stream_status_clause(status: str) -> str:
    """Build the OQL term for a job stream's status (all common words, or internal ones)."""
    values = status_words(status)
    field = STREAM_COMMON_FIELD if all(v in COMMON_WORDS for v in values) else STREAM_INTERNAL_FIELD
    return f"{field} IN [{', '.join(oql_literal(v) for v in values)}]"


def unknown_status_notes(
    name: str, common: str | None, internal: str | None, substatus: str | None
) -> list[str]:
    """Say which status values of ``name`` are outside the documented vocabulary."""
    out = []
    if common and common not in DOCUMENTED_COMMON:
        out.append(f"{name}: status {common!r} is not in the API v2 vocabulary (newer engine?)")
    if internal and internal not in DOCUMENTED_INTERNAL | DOCUMENTED_STREAM_INTERNAL:
        out.append(f"{name}: internal status {internal!r} is not in the API v2 vocabulary")
    if substatus and substatus not in DOCUMENTED_SUBSTATUS:
        out.append(f"{name}: sub-status {substatus!r} is not in the API v2 vocabulary")
    return out
