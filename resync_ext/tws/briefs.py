"""How plan objects are shown to an agent: small dicts of the facts an operator needs, bounded.

The tools (tools.py, summary.py) build their answers from these. Keys whose value is empty are
left out; ``notes`` says what could not be read or is outside the documented vocabulary.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from .errors import TWSError
from .injection import KNOWLEDGE_KEYS, screen_obj
from .knowledge import lookup_known_issue as _lookup
from .lenient import unread_paths
from .models import Job, JobRun, JobStream, short_name
from .vocabulary import status_words, unknown_status_notes

log = logging.getLogger("resync_ext.tws.tools")

MAX_LIST = 50
MAX_NOTES = 10


def tool(fn: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Turn exceptions into ``{"error": ...}`` data so the agent loop never sees a raise, and
    withhold engine text that reads like instructions to the assistant (injection.py) from every
    field of the answer, for every consumer (agents in evidence or react mode, MCP clients)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(screen_obj(await fn(*args, **kwargs), trusted=KNOWLEDGE_KEYS))
        except TWSError as e:
            return {"error": e.to_dict()}
        except (ValueError, TypeError) as e:
            return {"error": {"kind": "bad_request", "message": str(e)}}
        except Exception as e:  # a tool must answer; the log keeps the traceback
            log.exception("tool %s failed", fn.__name__)
            return {"error": {"kind": "internal", "message": f"{type(e).__name__}: {e}"}}

    return wrapper


def iso(value: Any) -> str | None:
    """Format an instant as ``2026-11-23T22:00:04Z`` (None stays None)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    """Leave out keys whose value is empty."""
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def parse_duration(text: str | None) -> timedelta | None:
    """Read an ISO-8601 duration (``PT1M6S``, ``P1DT2H``); None when absent or unreadable."""
    if not text:
        return None
    body = text.strip().upper()
    if not body.startswith("P"):
        return None
    days, _, clock = body[1:].partition("T")
    total, number = 0.0, ""
    try:
        for part, units in ((days, {"D": 86400.0, "W": 604800.0}), (clock, None)):
            scale = units or {"H": 3600.0, "M": 60.0, "S": 1.0}
            for ch in part:
                if ch.isdigit() or ch == ".":
                    number += ch
                else:
                    total += float(number) * scale[ch]
                    number = ""
    except (KeyError, ValueError):
        return None
    return None if number else timedelta(seconds=total)


def job_notes(job: Job | JobStream) -> list[str]:
    """Say what could not be read of a job or stream, and statuses a newer engine may use."""
    name = job.name or job.id or "?"
    notes = unknown_status_notes(name, job.common_status, job.internal_status, job.substatus)
    unread = unread_paths(job, limit=5)
    if unread:
        notes.append(f"{name}: could not read {', '.join(unread)}")
    return notes


def job_brief(job: Job) -> dict[str, Any]:
    """Return the few facts about a job an agent needs in a list."""
    run = job.latest_run
    times = run.time_info if run else None
    return drop_none(
        {
            "id": job.id,
            "name": job.name,
            "stream": job.job_stream_name,
            "workstation": short_name(job.workstation),
            "status": job.status,
            "internal_status": job.internal_status,
            "substatus": job.substatus,
            "return_code": job.return_code,
            "start": iso(times.actual_start_time) if times else None,
            "end": iso(times.actual_end_time) if times else None,
            "critical": True if job.is_critical else None,
            "late": True if job.is_late else None,
            "time_zone": job.time_zone,  # the engine's zone: times are shown in it
        }
    )


def stream_brief(stream: JobStream) -> dict[str, Any]:
    """Return the few facts about a job stream an agent needs in a list."""
    st = stream.job_stream_stats
    return drop_none(
        {
            "id": stream.id,
            "name": stream.name,
            "workstation": short_name(stream.workstation),
            "status": stream.status,
            "internal_status": stream.internal_status,
            "sched_time": iso(stream.sched_time),
            "jobs": st.number_of_job if st else None,
            "succeeded": st.number_of_successfull_job if st else None,
            "abended": st.number_of_abended_job if st else None,
            "limit": stream.limit if stream.limit not in (None, -1) else None,
            "late": True if stream.is_late else None,
        }
    )


def run_brief(run: JobRun) -> dict[str, Any]:
    """Return one run of a rerun chain: attempt, status, return code, times, kind of rerun."""
    t = run.time_info
    return drop_none(
        {
            "run_id": run.id,
            "attempt": run.run_attempt,
            "status": run.common_status,
            "internal_status": run.composite_status.status if run.composite_status else None,
            "return_code": run.return_code,
            "rerun_type": run.rerun_type,
            "start": iso(t.actual_start_time) if t else None,
            "end": iso(t.actual_end_time) if t else None,
            "elapsed": t.elapsed_time if t else None,
        }
    )


def duration_facts(job: Job, now: datetime | None = None) -> dict[str, Any]:
    """Return estimated vs actual duration of the latest run, and the engine's confidence."""
    run = job.latest_run
    t = run.time_info if run else None
    definition = job.job_definition
    estimated = (t.estimated_duration if t else None) or (
        definition.estimated_duration if definition else None
    )
    elapsed = t.elapsed_time if t else None
    est, act = parse_duration(estimated), parse_duration(elapsed)
    ratio = None
    if est and act and est.total_seconds() > 0:
        ratio = round(act.total_seconds() / est.total_seconds(), 1)
    return drop_none(
        {
            "estimated_duration": estimated,
            "elapsed": elapsed,
            "elapsed_vs_estimate": ratio,
            "confidence_interval": job.confidence_interval,
            "max_duration_exceeded": True if run and run.max_duration_gone else None,
        }
    )


def bounded(items: list[Any], limit: int, total: int | None, truncated: bool) -> dict[str, Any]:
    """Cap a list at ``limit`` (at most MAX_LIST) and say how many were left out."""
    shown = items[: max(1, min(limit, MAX_LIST))]
    known = total if total is not None else len(items)
    left = max(known - len(shown), len(items) - len(shown))
    out: dict[str, Any] = {"returned": len(shown), "total": known}
    if left or truncated:
        out["left_out"] = left
        out["note"] = "more matched than shown; narrow the filters to see them"
    return {"items": shown, **out}


def status_matches(job: Job, status: str) -> bool:
    """Return whether a job has one of the statuses asked for (common or internal)."""
    return bool(set(status_words(status)) & {job.status or "", job.internal_status or ""})


def hints(
    status: str | None, substatus: str | None, rc: int | None, text: str | None = None
) -> list[str]:
    """Name the best known-issue rules for these facts (details via lookup_known_issue)."""
    if status in ("SUCC", None) and not substatus and not text:
        return []
    found = _lookup(text, status, substatus, rc, limit=2)
    return [f"{m['rule']}: {m['title']}" for m in found]


def with_notes(out: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Add ``notes`` (deduplicated, bounded) to a tool's answer when there are any."""
    seen = list(dict.fromkeys(n for n in notes if n))
    if seen:
        out["notes"] = seen[:MAX_NOTES]
        if len(seen) > MAX_NOTES:
            out["notes"].append(f"... and {len(seen) - MAX_NOTES} more")
    return out
