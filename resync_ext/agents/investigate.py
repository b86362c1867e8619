"""Deterministic pre-analysis: find what the question names and gather the evidence with tools.

A small model explains evidence well but plans tool calls badly, so the plan is code: resolve the
jobs, streams and workstations the question names against the plan, then follow HWA's
troubleshooting rules (tws-api.md R1-R28): a failed job -> its log and matching known issue; a
held job -> its dependencies and the failed predecessor's log; a job waiting for an agent, limit
or fence -> its workstation; for resources -> the exhausted resources. With no name, start from
the plan summary and look into the first failures.
"""

from __future__ import annotations

from typing import Any

from resync_ext.agents.evidence import (
    candidate_names,
    clip,
    issue_sentence,
    job_sentence,
    log_sentence,
)
from resync_ext.agents.toolbox import ToolRecorder, error_text, is_error

FAILED = {"ERROR", "ABEND", "FAIL"}
WAITING = {"HOLD", "WAITING", "HELD", "BLOCKED", "WAIT", "SUSP", "STUCK"}
MAX_TARGETS = 2


def _ref(j: dict[str, Any]) -> str:
    # STREAM.JOB resolves exactly where a bare job name may be ambiguous.
    return f"{j['stream']}.{j['name']}" if j.get("stream") else str(j.get("name"))


def ws_sentence(row: dict[str, Any]) -> str:
    """Describe a workstation row from list_workstations."""
    probs = row.get("problems") or []
    state = "has problems: " + ", ".join(probs) if probs else "is linked and running"
    return (
        f"Workstation {row.get('name')} ({row.get('type') or 'agent'}) {state}; "
        f"states {', '.join(row.get('states') or []) or 'none'}, limit {row.get('limit')}, "
        f"fence {row.get('fence', 0)}."
    )


class Investigation:
    """Collect evidence sentences for one question through a ToolRecorder."""

    def __init__(self, rec: ToolRecorder) -> None:
        self.rec = rec
        self.facts: list[str] = []
        self.subjects: list[str] = []
        self._stations: list[dict[str, Any]] | None = None
        self._done: set[str] = set()

    async def run(self, question: str) -> list[str]:
        """Investigate ``question``; return the evidence sentences in reading order."""
        targets = await self._resolve(candidate_names(question))
        if not targets:
            await self.overview()
        for kind, data in targets[:MAX_TARGETS]:
            if kind == "workstation":
                await self.workstation(data)
            elif kind == "stream":
                await self.stream(data)
            else:
                await self.job(data)
        return self.facts

    async def _workstations(self) -> list[dict[str, Any]]:
        if self._stations is None:
            res = await self.rec.call(
                "list_workstations",
                summary=lambda r: (
                    f"{r.get('total')} workstations, {r.get('with_problems')} with "
                    "problems: "
                    + ", ".join(
                        f"{w['name']} ({', '.join(w['problems'])})"
                        for w in r.get("items", [])
                        if w.get("problems")
                    )[:200]
                ),
            )
            self._stations = [] if is_error(res) else list(res.get("items") or [])
        return self._stations

    async def _resolve(self, names: list[str]) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            if len(found) >= MAX_TARGETS:
                break
            plain = name.isupper() and "." not in name and " " not in name
            if plain:
                row = next((w for w in await self._workstations() if w.get("name") == name), None)
                if row is not None:
                    found.append(("workstation", row))
                    continue
                streams = await self.rec.call("list_job_streams", name=name)
                hit = next((s for s in streams.get("items") or [] if s.get("name") == name), None)
                if hit is not None:
                    found.append(("stream", hit))
                    continue
            job = await self.rec.call("get_job", job=name, summary=job_sentence)
            if not is_error(job):
                found.append(("job", job))
            elif job.get("candidates"):
                names_ = ", ".join(_ref(c) for c in job["candidates"][:5])
                self.facts.append(f"{name} matches several jobs: {names_}.")
        return found

    async def overview(self) -> None:
        """Start from the plan summary; look into the first failed jobs."""
        s = await self.rec.call("plan_summary", summary=lambda r: clip(_summary_text(r), 300))
        if is_error(s):
            self.facts.append(f"The plan could not be read: {error_text(s)}.")
            return
        self.facts.append(_summary_text(s))
        for j in (s.get("failed_jobs") or {}).get("items", [])[:MAX_TARGETS]:
            full = await self.rec.call("get_job", job=_ref(j), summary=job_sentence)
            if not is_error(full):
                await self.job(full)

    async def job(self, j: dict[str, Any]) -> None:
        """Gather status, log, dependencies, workstation and known issue for one job."""
        ref = _ref(j)
        if ref in self._done:
            return
        self._done.add(ref)
        self.subjects.append(str(j.get("name")))
        self.facts.append(job_sentence(j))
        internal, sub = j.get("internal_status"), j.get("substatus") or ""
        log_text = ""
        if j.get("status") in FAILED or internal in FAILED:
            log = await self.rec.call("get_job_log", job=ref, summary=log_sentence)
            if not is_error(log):
                self.facts.append(log_sentence(log))
                log_text = "\n".join(
                    [*(log.get("error_lines") or []), *(log.get("aws_codes") or [])]
                )
        if internal in WAITING or j.get("status") in WAITING or j.get("unresolved_dependencies"):
            await self._dependencies(ref)
        if sub in {"READY_WAITING_FOR_AGENT", "READY_WAITING_FOR_LIMIT"} or internal == "FENCE":
            row = next(
                (w for w in await self._workstations() if w.get("name") == j.get("workstation")),
                None,
            )
            if row is not None:
                self.facts.append(ws_sentence(row))
        if sub == "READY_WAITING_FOR_RESOURCES":
            await self._resources()
        await self._known_issue(log_text, internal or j.get("status"), sub, j.get("return_code"))

    async def _dependencies(self, ref: str, depth: int = 0) -> None:
        deps = await self.rec.call("get_dependencies", job=ref, summary=_deps_text)
        if is_error(deps):
            return
        self.facts.append(_deps_text(deps))
        preds = (deps.get("predecessors") or {}).get("items", [])
        failed = [p for p in preds if p.get("status") in FAILED and _ref(p) not in self._done]
        if failed and len(self._done) < 3:
            # The held job is a symptom; the failed predecessor is the cause (R4).
            full = await self.rec.call("get_job", job=_ref(failed[0]), summary=job_sentence)
            if not is_error(full):
                await self.job(full)
            return
        waiting = [p for p in preds if p.get("status") in WAITING and _ref(p) not in self._done]
        if waiting and depth < 2:
            # A chain of held jobs: walk up to the one that holds them all.
            self._done.add(_ref(waiting[0]))
            await self._dependencies(_ref(waiting[0]), depth + 1)

    async def _resources(self) -> None:
        res = await self.rec.call("list_resources", exhausted_only=True, summary=_resources_text)
        if not is_error(res):
            self.facts.append(_resources_text(res))

    async def _known_issue(self, text: str, status: Any, sub: str, rc: Any) -> None:
        found = await self.rec.call(
            "lookup_known_issue",
            text=text or None,
            status=status,
            substatus=sub or None,
            return_code=rc,
            summary=lambda r: (
                issue_sentence(r["matches"][0]) if r.get("matches") else "no known issue matches"
            ),
        )
        if not is_error(found) and found.get("matches"):
            self.facts.append(issue_sentence(found["matches"][0]))

    async def stream(self, s: dict[str, Any]) -> None:
        """Describe a job stream and investigate its first failed or held job."""
        self.subjects.append(str(s.get("name")))
        self.facts.append(
            f"Job stream {s.get('name')} is {s.get('status')} ({s.get('internal_status')}): "
            f"{s.get('jobs', '?')} jobs, {s.get('succeeded', 0)} succeeded, "
            f"{s.get('abended', 0)} abended."
        )
        jobs = await self.rec.call("list_jobs", stream=s.get("name"), limit=50)
        items = [] if is_error(jobs) else jobs.get("items") or []
        bad = [j for j in items if j.get("status") in FAILED] or [
            j for j in items if j.get("status") in WAITING | {"READY"}
        ]
        for j in bad[:1]:
            full = await self.rec.call("get_job", job=_ref(j), summary=job_sentence)
            if not is_error(full):
                await self.job(full)

    async def workstation(self, row: dict[str, Any]) -> None:
        """Describe a workstation and the jobs waiting on it."""
        self.subjects.append(str(row.get("name")))
        self.facts.append(ws_sentence(row))
        jobs = await self.rec.call(
            "list_jobs", workstation=row.get("name"), status="READY,HOLD,WAITING,ERROR", limit=20
        )
        items = [] if is_error(jobs) else jobs.get("items") or []
        if items:
            self.facts.append(
                f"Jobs on {row.get('name')} not done: "
                + ", ".join(
                    f"{j.get('name')} ({j.get('internal_status') or j.get('status')}"
                    f"{', ' + j['substatus'] if j.get('substatus') else ''})"
                    for j in items[:6]
                )
                + "."
            )
        if row.get("problems"):
            sub = "READY_WAITING_FOR_AGENT" if "unlinked" in row["problems"] else None
            await self._known_issue("", "READY", sub or "", None)


def _summary_text(s: dict[str, Any]) -> str:
    failed = (s.get("failed_jobs") or {}).get("items", [])
    late = (s.get("late_critical_jobs") or {}).get("items", [])
    ws = s.get("workstation_problems") or []
    by = ", ".join(f"{k} {v}" for k, v in (s.get("by_status") or {}).items())
    text = f"Plan: {s.get('total_jobs')} jobs ({by})."
    text += (
        " Failed: "
        + ", ".join(
            f"{_ref(j)} ({j.get('internal_status')}, RC {j.get('return_code')})" for j in failed[:6]
        )
        + "."
        if failed
        else " No failed jobs."
    )
    if late:
        text += " Late critical: " + ", ".join(_ref(j) for j in late[:5]) + "."
    if ws:
        text += (
            " Workstation problems: "
            + ", ".join(f"{w['name']} ({', '.join(w['problems'])})" for w in ws[:5])
            + "."
        )
    return text


def _deps_text(d: dict[str, Any]) -> str:
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


def _resources_text(r: dict[str, Any]) -> str:
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
