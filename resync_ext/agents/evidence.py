"""Turn tool results into short evidence sentences a small model can read in one breath.

Each sentence states facts taken from one tool answer (names, statuses, return codes, log lines,
known-issue rules); the troubleshooter and analyzer join them into the evidence paragraph of
their one LM call and record each as the ``summary`` of that call's evidence.
"""

from __future__ import annotations

import json
import re
from typing import Any

from resync_ext.agents import plan_text
from resync_ext.agents.text import clip
from resync_ext.agents.times import Clock
from resync_ext.tws.briefs import parse_duration

_STOP = {
    "TWS",
    "HWA",
    "IBM",
    "HCL",
    "RC",
    "ABEND",
    "FAIL",
    "FAILED",
    "ERROR",
    "HOLD",
    "HELD",
    "READY",
    "WAIT",
    "EXEC",
    "SUCC",
    "WHY",
    "WHAT",
    "OK",
    "JOB",
    "JOBS",
    "AGENT",
    "LOG",
    "SLA",
    "PEND",
    "FENCE",
    "LIMIT",
    "CANCL",
    "SUPPR",
    "STUCK",
    "WAITING",
    "RUNNING",
    "API",
    "REST",
    "AND",
    "THE",
    "MDM",
    "DWC",
    "UTC",
    "CPU",
    "ETA",
}
_NAME = re.compile(r"(?<![\w#.-])([A-Za-z0-9][A-Za-z0-9_#.\-]*[A-Za-z0-9])(?![\w#-])")
_CODE = re.compile(r"^(?:AWS[A-Z]{3}\d{3}[EIW]|ORA-\d+|SQL\d+N|R\d+|[A-Z]{2,5}-\d+)$")
_PHRASE = re.compile(
    r"\b(?:the\s+)?([a-z][a-z0-9]+(?:\s+[a-z][a-z0-9]+)?)\s+(?:job|stream)\b", re.I
)
_PHRASE_STOP = {
    "the",
    "a",
    "this",
    "that",
    "my",
    "which",
    "what",
    "any",
    "each",
    "every",
    "why",
    "did",
    "failed",
    "late",
    "critical",
    "stuck",
    "held",
    "waiting",
    "is",
    "last",
}
MAX_EVIDENCE_LINES = 14


def candidate_names(question: str) -> list[str]:
    """Return the words of a question that look like HWA object names, most specific first."""
    names: list[str] = []
    for m in _NAME.finditer(question):
        word = m.group(1).strip(".")
        upper = word.upper()
        # HWA names are upper case; one typed in lower case still reads as a name when it is
        # spelt like one (payroll_extract, agt_lnx01#daily_pay).
        looks_named = any(c.isalpha() for c in word) and (
            ("_" in word or "#" in word)
            or (word == upper and ("." in word or any(c.isdigit() for c in word) or len(word) >= 4))
        )
        if looks_named and upper not in _STOP and not _CODE.match(upper) and upper not in names:
            names.append(upper)
    if not names:
        for m in _PHRASE.finditer(question):
            words = [w for w in m.group(1).lower().split() if w not in _PHRASE_STOP]
            if words:
                names.append(" ".join(words))
    return names[:4]


def where(j: dict[str, Any], stream: str = "stream") -> str:
    """Return ``stream S, workstation W`` for a job (the parts it has), ``stream`` as worded."""
    parts = (
        f"{stream} {j['stream']}" if j.get("stream") else "",
        f"workstation {j['workstation']}" if j.get("workstation") else "",
    )
    return ", ".join(x for x in parts if x)


def job_sentence(j: dict[str, Any]) -> str:
    """Describe a job from get_job / a job brief."""
    where_ = where(j)
    status = j.get("status") or "unknown"
    detail = ", ".join(str(x) for x in (j.get("internal_status"), j.get("substatus")) if x)
    out = f"{j.get('name')}{f' ({where_})' if where_ else ''} is {status}"
    out += f" ({detail})" if detail else ""
    if j.get("return_code") is not None:
        out += f", return code {j['return_code']}"
    clock = Clock.of(j)
    if j.get("end"):
        out += f", ended {_both(j['end'], clock)}"
    elif j.get("start"):
        out += f", started {_both(j['start'], clock)}"
    if j.get("critical"):
        out += ", critical job"
    if j.get("deadline"):
        out += f", deadline {_both(j['deadline'], clock)}"
    if j.get("late"):
        out += ", LATE"
    if j.get("unresolved_dependencies"):
        out += "; waiting for " + ", ".join(map(str, j["unresolved_dependencies"][:4]))
    if j.get("estimated_duration") and j.get("elapsed"):
        out += f"; elapsed {duration(j['elapsed'])} against an estimate of "
        out += duration(j["estimated_duration"])
        if j.get("elapsed_vs_estimate"):
            out += f" ({j['elapsed_vs_estimate']} times)"
    if j.get("max_duration_exceeded"):
        out += "; past its maximum duration"
    runs = j.get("rerun_history") or []
    if len(runs) > 1:
        out += "; runs: " + ", ".join(
            f"attempt {r.get('attempt') or i + 1} "
            + str(r.get("internal_status") or r.get("status") or "status unknown")
            + (f" return code {r['return_code']}" if r.get("return_code") is not None else "")
            for i, r in enumerate(runs[-4:])
        )
    return out + "."


def _both(stamp: Any, clock: Clock) -> str:
    """An instant in the engine's zone, with UTC beside it when that differs (models and the
    grounding guard match either)."""
    local = clock.at(stamp)
    utc = Clock(now=clock.now).at(stamp, ago=False)
    return local if utc.split()[:2] == local.split()[:2] else f"{local} ({utc.split(' on ')[0]})"


def iso_seconds(text: Any) -> float | None:
    """Return the seconds of an ISO-8601 duration (``PT1H5M``); None when it is not one."""
    raw = str(text or "")
    parsed = parse_duration(raw) if any(c.isdigit() for c in raw) else None
    return None if parsed is None else parsed.total_seconds()


def duration(text: Any) -> str:
    """Render an ISO-8601 duration (``PT1H5M``) as ``1 h 5 min``; other text unchanged."""
    seconds = iso_seconds(text)
    if seconds is None:
        return str(text)
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    mi, sec = divmod(rest, 60)
    parts = [f"{int(d)} d" if d else "", f"{int(h)} h" if h else "", f"{int(mi)} min" if mi else ""]
    if not any(parts):
        parts.append(f"{int(sec)} s")
    return " ".join(p for p in parts if p)


_CODED = re.compile(
    r"\b(?:[A-Z][A-Z0-9]{1,4}-\d{3,5}[A-Z]?|AWS[A-Z]{3}\d{3}[EIWS]|SQL\d{4,5}[NWC])\b"
)
# A transient error says it will be retried; a recovery line says a retry worked. Either way that
# error is not why the job ended: the last error that nothing recovered from is (tws-api.md).
_TRANSIENT = re.compile(
    r"\b(?:will retry|retrying|retry(?:ing)? in|attempt \d+ (?:of|/) ?\d+|temporar\w*|transient)\b",
    re.I,
)
_RECOVERED = re.compile(
    r"\b(?:retry|retried|attempt \d+|reconnect\w*)\b.*\b(?:succeed\w*|success\w*|ok|"
    r"recovered|established|resumed)\b|\brecovered\b",
    re.I,
)


_CLOSING = re.compile(
    r"\b(?:exit(?:ing|ed)?|abort(?:ing|ed)?|terminat\w*|unable to connect|giving up)\b", re.I
)


def decisive_lines(log: dict[str, Any]) -> list[str]:
    """Rank a job log's error lines: the one that ended the job first.

    Errors that were retried and recovered from (a retry, then a "succeeded" line) come last;
    so do closing lines that only report the end ("Unable to connect... Exiting"); among the
    rest the last coded error (ORA-, AWS..., SQL...N) before the end wins, then the last plain
    error line.
    """
    errors = [str(x) for x in log.get("error_lines") or []]
    tail = [x for x in str(log.get("tail") or "").splitlines() if x.strip()]
    # In log order: error lines older than the tail, then the tail.
    text = [*(e for e in errors if e not in tail), *tail]
    recovered: set[int] = set()
    for i, line in enumerate(errors):
        later = text[text.index(line) + 1 :] if line in text else []
        nxt_error = next((k for k, x in enumerate(later) if x in errors[i + 1 :]), len(later))
        if _TRANSIENT.search(line) or any(_RECOVERED.search(x) for x in later[:nxt_error]):
            recovered.add(i)
    live = [
        i for i in range(len(errors)) if i not in recovered and not _RECOVERED.search(errors[i])
    ]
    # A closing line ("Unable to connect... Exiting", "batch aborted") reports the end, not why.
    plain = [i for i in live if not _CLOSING.search(errors[i])] or live
    coded = [i for i in plain if _CODED.search(errors[i])]
    order = [*reversed(coded), *(i for i in reversed(plain) if i not in coded)]
    order += [i for i in reversed(live) if i not in order]
    order += [i for i in range(len(errors)) if i not in order]
    return [errors[i] for i in order]


def log_sentence(log: dict[str, Any]) -> str:
    """Describe the useful part of a job log, the decisive error line first."""
    ranked = decisive_lines(log)
    lines = [clip(x, 140) for x in ranked][:3]
    if not lines:
        tail = [
            x
            for x in str(log.get("tail") or "").splitlines()
            if x.strip() and not x.startswith("=")
        ]
        lines = [clip(x, 140) for x in tail[-2:]]
    quoted = ", then ".join(f'"{x}"' for x in lines)
    text = f"Log of {log.get('job')}: " + (quoted or "no error lines")
    if log.get("aws_codes"):
        text += f" (codes {', '.join(log['aws_codes'][:3])})"
    return text + "."


def issue_sentence(match: dict[str, Any]) -> str:
    """Describe the best known-issue match with its cause and first steps."""
    # Rule text is the product's own knowledge base, not engine data: masking would only garble
    # words such as "password" in the advice.
    steps = "; ".join(
        clip(step_text(s), 110, mask=False).rstrip(".") for s in (match.get("next_steps") or [])[:2]
    )
    cause = clip(match.get("cause"), 160, mask=False).rstrip(".")
    # The rule's id is for machines (the tool call's result keeps it); people read its title.
    return f"Known issue, {match.get('title')}: {cause}." + (f" Steps: {steps}." if steps else "")


def step_text(step: Any) -> str:
    """Return a known-issue step as text."""
    # A YAML step holding ": " loads as a one-entry mapping; it is still one sentence.
    if isinstance(step, dict):
        return " ".join(f"{k}: {v}" for k, v in step.items())
    return str(step)


def jobs_text(r: dict[str, Any]) -> str:
    """Describe a job list (list_jobs): each job with its status and substatus."""
    items = r.get("items") or []
    if not items:
        return "No job matches."
    shown = ", ".join(
        f"{j.get('name')}"
        + (f" in {j['stream']}" if j.get("stream") else "")
        + f" ({j.get('internal_status') or j.get('status')}"
        + (f", {j['substatus']}" if j.get("substatus") else "")
        + (f", return code {j['return_code']}" if j.get("return_code") is not None else "")
        + ")"
        for j in items[:8]
    )
    total = r.get("total")
    more = f" (of {total})" if isinstance(total, int) and total > len(items[:8]) else ""
    latest = Clock.of(*items).last(j.get("end") for j in items)
    last = f" The last ended at {latest}." if latest else ""
    return f"{len(items[:8])} jobs{more}: {shown}.{last}"


def evidence_lines(evidence: list[dict[str, Any]]) -> list[str]:
    """Render recorded evidence as ``- tool(args): summary`` lines, bounded for a prompt."""
    lines = []
    for e in evidence[:MAX_EVIDENCE_LINES]:
        args = json.dumps(e.get("args") or {}, separators=(",", ":"), default=str)
        lines.append(f"- {e.get('tool')}({args[1:-1]}): {clip(e.get('summary', ''), 300)}")
    if len(evidence) > MAX_EVIDENCE_LINES:
        lines.append(f"- ... {len(evidence) - MAX_EVIDENCE_LINES} more calls left out")
    return lines


def default_summary(tool: str, result: dict[str, Any]) -> str | None:
    """Return the evidence sentence for a successful tool result, when one fits the tool."""
    if tool == "get_job" and result.get("name"):
        return job_sentence(result)
    if tool == "get_job_log" and result.get("job"):
        return log_sentence(result)
    if tool == "list_jobs" and isinstance(result.get("items"), list):
        return jobs_text(result)
    if tool == "lookup_known_issue":
        matches = result.get("matches") or []
        return issue_sentence(matches[0]) if matches else "No known issue matches."
    # The plan-wide reads, in words too (their evidence row is read by people, one click away).
    if tool == "plan_summary":
        return plan_text.summary_text(result)
    if tool == "get_dependencies" and result.get("job"):
        return plan_text.deps_text(result)
    if tool == "list_resources" and isinstance(result.get("items"), list):
        return plan_text.resources_text(result)
    if tool == "list_job_streams" and isinstance(result.get("items"), list):
        return plan_text.streams_text(result)
    if tool == "list_workstations" and isinstance(result.get("items"), list):
        return plan_text.stations_text(result)
    return None


def station_issue(problems: list[str]) -> tuple[str, str]:
    """The status and substatus its jobs get from a workstation's problems, to look up the known
    issue: unlinked or stopped (waiting for the agent), limit 0 (waiting for the limit), fence."""
    text = " ".join(problems)
    if "unlinked" in text or "stopped" in text:
        return "READY", "READY_WAITING_FOR_AGENT"
    if "limit 0" in text:
        return "READY", "READY_WAITING_FOR_LIMIT"
    return ("FENCE", "") if "fence" in text else ("READY", "")
