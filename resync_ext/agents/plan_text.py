"""Sentences about plan-wide reads: the plan summary, a stream, dependencies, resources.

The evidence sentences (recorded as the tool calls' summaries and given to the model) for the
reads that are not about one job; job, log and known-issue sentences live in evidence.py.
"""

from __future__ import annotations

from typing import Any

from resync_ext.agents.evidence import clip


def ref(j: dict[str, Any]) -> str:
    """Return ``STREAM.JOB`` (exact where a bare job name may be ambiguous) or the bare name."""
    return f"{j['stream']}.{j['name']}" if j.get("stream") else str(j.get("name"))


def stream_sentence(s: dict[str, Any]) -> str:
    """Describe a job stream brief with its job counts."""
    return (
        f"Job stream {s.get('name')} is {s.get('status')} ({s.get('internal_status')}): "
        f"{s.get('jobs', '?')} jobs, {s.get('succeeded', 0)} succeeded, "
        f"{s.get('abended', 0)} abended."
    )


def summary_text(s: dict[str, Any]) -> str:
    """Describe a plan_summary result in one paragraph."""
    failed_ = (s.get("failed_jobs") or {}).get("items", [])
    late = (s.get("late_critical_jobs") or {}).get("items", [])
    ws = s.get("workstation_problems") or []
    by = ", ".join(f"{k} {v}" for k, v in (s.get("by_status") or {}).items())
    text = f"Plan: {s.get('total_jobs')} jobs ({by})."

    def one(j: dict[str, Any]) -> str:
        rc = j.get("return_code")
        return f"{ref(j)} ({j.get('internal_status')}" + (f", RC {rc})" if rc is not None else ")")

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
        f"{h.get('dependency')} ({h.get('predecessor_status') or h.get('status')})"
        for h in d.get("held_by") or []
    ]
    succ = (d.get("successors") or {}).get("items", [])
    text = (
        f"{job} is held by: {', '.join(held[:4])}." if held else f"{job} has no unmet dependency."
    )
    if succ:
        names = [str(s.get("name") or (s.get("job_stream") or {}).get("name")) for s in succ]
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
            f"{x.get('name')} {x.get('available', 0)} of {x.get('quantity')} available, held by "
            f"{', '.join(map(str, x.get('holders') or [])) or 'unknown'}"
            for x in items[:4]
        )
        + "."
    )
