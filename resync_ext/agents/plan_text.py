"""Sentences about plan-wide reads: the plan summary, a stream, dependencies, resources.

The evidence sentences (recorded as the tool calls' summaries and given to the model) for the
reads that are not about one job; job, log and known-issue sentences live in evidence.py.
"""

from __future__ import annotations

from typing import Any

from resync_ext.agents.text import clip


def ref(j: dict[str, Any]) -> str:
    """Return ``STREAM.JOB`` (exact where a bare job name may be ambiguous) or the bare name."""
    return f"{j['stream']}.{j['name']}" if j.get("stream") else str(j.get("name"))


def stream_sentence(s: dict[str, Any]) -> str:
    """Describe a job stream brief with its job counts."""
    status = ", ".join(str(x) for x in (s.get("status"), s.get("internal_status")) if x)
    counts = (
        f": {s['jobs']} jobs, {s.get('succeeded', 0)} succeeded, {s.get('abended', 0)} abended"
        if s.get("jobs") is not None
        else ""
    )
    return f"Job stream {s.get('name')} is {status or 'in an unknown status'}{counts}."


def streams_text(r: dict[str, Any]) -> str:
    """Describe a job stream list (list_job_streams): each stream with its status."""
    items = r.get("items") or []
    if not items:
        return "No job stream matches."
    shown = "; ".join(stream_sentence(s).removeprefix("Job stream ").rstrip(".") for s in items[:6])
    more = f" and {len(items) - 6} more" if len(items) > 6 else ""
    return f"Job streams: {shown}{more}."


def stations_text(r: dict[str, Any]) -> str:
    """Describe a workstation list (list_workstations): how many, and the ones with problems."""
    items = r.get("items") or []
    troubled = [w for w in items if w.get("problems")]
    text = f"{r.get('total', len(items))} workstations"
    if not troubled:
        return text + ", none with problems."
    return (
        text
        + f", {len(troubled)} with problems: "
        + ", ".join(f"{w.get('name')} ({', '.join(map(str, w['problems']))})" for w in troubled[:6])
        + "."
    )


def summary_text(s: dict[str, Any]) -> str:
    """Describe a plan_summary result in one paragraph."""
    failed_ = (s.get("failed_jobs") or {}).get("items", [])
    late = (s.get("late_critical_jobs") or {}).get("items", [])
    ws = s.get("workstation_problems") or []
    by = ", ".join(f"{k} {v}" for k, v in (s.get("by_status") or {}).items())
    total = s.get("total_jobs")
    text = f"Plan: {total} jobs ({by})." if total is not None else "Plan: job counts not read."

    def one(j: dict[str, Any]) -> str:
        rc = j.get("return_code")
        state = j.get("internal_status") or j.get("status") or "failed"
        return f"{ref(j)} ({state}" + (f", return code {rc})" if rc is not None else ")")

    text += (
        " Failed: " + ", ".join(one(j) for j in failed_[:6]) + "."
        if failed_
        else " No failed jobs."
    )
    if late:
        text += " Late critical: " + ", ".join(ref(j) for j in late[:5]) + "."
    if ws:
        text += (
            " Workstation problems: "
            + ", ".join(f"{w['name']} ({', '.join(w['problems'])})" for w in ws[:5])
            + "."
        )
    for note in s.get("notes") or []:
        text += f" Note: {clip(note, 160)}."
    return text


def deps_text(d: dict[str, Any]) -> str:
    """Describe a get_dependencies result: what holds the job, what waits for it."""
    job = (d.get("job") or {}).get("name")
    held = [
        str(h.get("dependency"))
        + (f" ({state})" if (state := h.get("predecessor_status") or h.get("status")) else "")
        for h in d.get("held_by") or []
        if h.get("dependency")
    ]
    succ = (d.get("successors") or {}).get("items", [])
    text = (
        f"{job} is held by: {', '.join(held[:4])}." if held else f"{job} has no unmet dependency."
    )
    if succ:
        names = [
            str(s.get("name") or (s.get("job_stream") or {}).get("name") or "a job without a name")
            for s in succ
        ]
        text += f" {len(succ)} successors wait for it: {', '.join(names[:5])}."
    return text


def resources_text(r: dict[str, Any]) -> str:
    """Describe the exhausted resources and who holds them."""
    items = r.get("items") or []
    if not items:
        return "No resource is exhausted."
    return (
        "Exhausted resources: "
        + "; ".join(
            f"{x.get('name')} {x.get('available', 0)} of {x.get('quantity', '?')} available"
            + (f", held by {', '.join(map(str, x['holders']))}" if x.get("holders") else "")
            for x in items[:4]
        )
        + "."
    )
