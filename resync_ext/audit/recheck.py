"""Re-check a remembered answer: re-run its recorded tool calls on the live plan, say what changed.

An answer true at 03:00 can be wrong at 08:00 (the job was rerun, the file arrived). A memory
records each tool call its agent made (``{"tool", "args", "summary"}``); this re-runs the same
calls through the read-only TWS tools (``resync_ext.tws.tools``, whose client sends nothing but
reads: its transport refuses any other request), words each result as the agent did, and
compares. A job's status, return code, number of runs and what it waits for are compared as
facts (``job gone`` when the plan no longer has it); any other call's summary is compared as
text, with relative times ("9 h ago") taken out, since those change by the clock alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel

from resync_ext.agents.evidence import job_sentence, jobs_text, log_sentence
from resync_ext.agents.plan_text import deps_text, resources_text
from resync_ext.agents.toolbox import error_text, is_error, summarise

ToolFn = Callable[..., Awaitable[Any]]
MAX_CALLS = 20  # a turn records a handful; a memory with more is re-checked in part
CALL_TIMEOUT_S = 20.0
# Summaries worded the way the agents word them (agents/investigate.py).
_WORDING: dict[str, Callable[[dict[str, Any]], str]] = {
    "get_job": job_sentence,
    "get_job_log": log_sentence,
    "list_jobs": jobs_text,
    "get_dependencies": deps_text,
    "list_resources": resources_text,
}
_JOB = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_#.\-]*) \([^)]*\) is (?P<status>[A-Z]+)"
    r"(?: \((?P<detail>[A-Z_, ]+)\))?"
)
_RC = re.compile(r"return code (-?\d+)")
_WAITS = re.compile(r"waiting for ([^;.]+)")
_RUNS = re.compile(r"runs: (.*?)(?:;|\.$)")
_RELATIVE = re.compile(
    r"\b(?:in )?\d+ (?:d|h|min|s)(?: \d+ (?:h|min|s))*(?: ago)?\b|\(\d+(?:\.\d+)? times\)"
)

# Names and codes (upper case, "ORA-01017", "AGT_WIN02", "DAILY_PAY.PAYROLL_EXTRACT"), numbers,
# and lower-case words (only the state words among them count).
_FACT = re.compile(r"[A-Z][A-Z0-9_#@$-]+(?:\.[A-Z0-9_#@$-]+)*|\d+|[a-z]+")
_STATE_WORDS = frozenset(
    {
        "linked",
        "unlinked",
        "running",
        "stopped",
        "held",
        "released",
        "late",
        "missing",
        "arrived",
        "exhausted",
        "available",
        "abended",
        "failed",
        "succeeded",
        "successful",
        "cancelled",
        "canceled",
        "suppressed",
        "blocked",
        "ready",
        "waiting",
        "unavailable",
        "offline",
        "online",
    }
)


class Change(BaseModel):
    """One thing that differs between the recorded answer's evidence and the live plan."""

    what: str
    then: str
    now: str


def job_facts(summary: str) -> dict[str, str] | None:
    """Status, return code, runs and waits of a job sentence; None when it is not one."""
    m = _JOB.match(summary.strip())
    if m is None:
        return None
    status = m.group("status") + (f" ({m.group('detail')})" if m.group("detail") else "")
    rc = _RC.search(summary)
    waits = _WAITS.search(summary)
    runs = _RUNS.search(summary)
    return {
        "status": status,
        "return code": rc.group(1) if rc else "none",
        "runs": str(runs.group(1).count("attempt")) if runs else "1",
        "waits for": waits.group(1).strip() if waits else "nothing",
    }


def _words(tool: str, result: Any) -> str:
    wording = _WORDING.get(tool)
    if wording is not None and isinstance(result, dict) and not is_error(result):
        try:
            return " ".join(wording(result).split())
        except (KeyError, TypeError, ValueError):
            pass
    return summarise(tool, result)


def compare(tool: str, args: Mapping[str, Any], then: str, result: Any) -> list[Change]:
    """What differs between a recorded summary and the same call's result now."""
    label = f"{tool}({json.dumps(dict(args), default=str, separators=(',', ':'))[1:-1]})"
    then_facts = job_facts(then) if tool == "get_job" else None
    if then_facts is not None:
        name = str(args.get("job") or "").split(".")[-1] or "the job"
        if is_error(result):
            return [
                Change(what=f"{name}: job gone", then=then_facts["status"], now=error_text(result))
            ]
        now_facts = job_facts(_words(tool, result)) or {}
        labels = {"status": "status changed", "runs": "rerun", "waits for": "waits for"}
        return [
            Change(what=f"{name}: {labels.get(key, key)}", then=value, now=now_facts.get(key, "?"))
            for key, value in then_facts.items()
            if now_facts.get(key, value) != value
        ]
    now = _words(tool, result)
    if _same_text(then, now):
        return []
    return [Change(what=label, then=then, now=now)]


def _same_text(then: str, now: str) -> bool:
    """True when a recorded summary states the same facts as the live one.

    The agents word a result in several ways (the same dependencies read "2 jobs wait for
    DAILY_PAY.X: A, B" in one answer and "X has no unmet dependency. 2 successors wait for it: A,
    B" in another), and summaries are cut at a length ("…"). So what is compared is what a summary
    states, not its wording: the object names (short, without their stream), codes and numbers,
    and the state words; a summary cut short is compared only as far as it goes.
    """
    a, a_cut = _fact_words(then)
    b, b_cut = _fact_words(now)
    if a_cut and b_cut:
        return a <= b or b <= a
    if a_cut:
        return a <= b
    if b_cut:
        return b <= a
    return a == b


def _fact_words(text: str) -> tuple[set[str], bool]:
    """The facts a summary states, and whether it was cut short (its last word then dropped)."""
    body = text.strip()
    cut = body.endswith("…")
    words = _FACT.findall(_RELATIVE.sub("", body.rstrip("…")))
    if cut and words:
        words.pop()
    out = set()
    for w in words:
        if w.lower() in _STATE_WORDS:
            out.add(w.lower())
        elif not w.islower():
            out.add(w.rsplit(".", 1)[-1])
    return out, cut


async def recheck(evidence: list[dict[str, Any]], tools: Mapping[str, ToolFn]) -> dict[str, Any]:
    """Re-run the recorded calls (read-only tools) and return ``{"calls", "changes"}``."""
    changes: list[Change] = []
    calls = 0
    for e in evidence[:MAX_CALLS]:
        tool, args = str(e.get("tool") or ""), dict(e.get("args") or {})
        fn = tools.get(tool)
        if fn is None:  # not a TWS tool (or one this server no longer has): nothing to re-read
            continue
        calls += 1
        try:
            result = await asyncio.wait_for(fn(**args), CALL_TIMEOUT_S)
        except (TimeoutError, TypeError) as err:
            result = {"ok": False, "error": {"kind": "internal", "message": str(err) or "timeout"}}
        changes += compare(tool, args, str(e.get("summary") or ""), result)
    return {"calls": calls, "skipped": max(0, len(evidence) - MAX_CALLS), "changes": changes}
