"""Deterministic pre-analysis: find what the question names and gather the evidence with tools.

A small model explains evidence well but plans tool calls badly, so the plan is code: resolve the
jobs, streams and workstations the question names against the plan, then follow HWA's
troubleshooting rules (tws-api.md R1-R28): a failed job -> its log and matching known issue; a
held job -> its predecessors, walked to the failing or running root (across streams too), with the
root's log; a job waiting for an agent, limit or fence -> its workstation; for resources -> the
exhausted resources. A name that matches nothing is reported as not in the plan, with the closest
names, and the investigation stops there: it never describes other failures as if they were the
one asked about. With no name at all, start from the plan summary and look into the first
failures. What was found is kept as data too (``jobs``, ``logs``, ``issues``, ``chain``,
``missing``) so the verdict can be written by code (resync_ext.agents.verdict).
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

from resync_ext.agents.evidence import (
    candidate_names,
    clip,
    issue_sentence,
    job_sentence,
    log_sentence,
    station_issue,
)
from resync_ext.agents.follow_up import Focus, asked_names, conversation_subject, focus_of
from resync_ext.agents.plan_text import (
    deps_text,
    ref,
    resources_text,
    stream_sentence,
    summary_text,
)
from resync_ext.agents.prompts import prompt_waiters
from resync_ext.agents.toolbox import ToolRecorder, error_text, is_error

FAILED = {"ERROR", "ABEND", "FAIL"}
WAITING = {"HOLD", "WAITING", "HELD", "BLOCKED", "WAIT", "SUSP", "STUCK"}
RUNNING = {"EXEC", "RUNNING"}
READY = {"READY"}
MAX_TARGETS = 2
MAX_CHAIN = 6  # predecessors walked from a held job towards its root cause
CLOSEST = 3
CLOSE_ENOUGH = 0.7  # difflib ratio: a misspelling or a missing word, not any job sharing a prefix


def failed(j: dict[str, Any]) -> bool:
    """Tell whether a job brief is in a failed state."""
    return j.get("status") in FAILED or j.get("internal_status") in FAILED


def waiting(j: dict[str, Any]) -> bool:
    """Tell whether a job brief is held or waiting."""
    return j.get("status") in WAITING or j.get("internal_status") in WAITING


def ws_sentence(row: dict[str, Any]) -> str:
    """Describe a workstation row from list_workstations."""
    probs = row.get("problems") or []
    state = "has problems: " + ", ".join(probs) if probs else "is linked and running"
    limit = f", limit {row['limit']}" if row.get("limit") is not None else ""
    return (
        f"Workstation {row.get('name')} ({row.get('type') or 'agent'}) {state}; "
        f"states {', '.join(row.get('states') or []) or 'none'}{limit}, "
        f"fence {row.get('fence') or 0}."
    )


def _squash(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def named(asked: str, job: dict[str, Any]) -> bool:
    """Tell whether ``job`` is what ``asked`` names: every letter of it, in order, in its name.

    "the dw extract job" names DW_EXTRACT (and DW_EXTRACT_SALES, as HWA's LIKE would); a
    misspelt PAYROLL_EXTRAKT does not name PAYROLL_EXTRACT, which the engine's fuzzy match
    offers: that is a suggestion to make, not a job to describe.
    """
    wanted = _squash(asked.rpartition(".")[2].rpartition("#")[2])
    return bool(wanted) and wanted in _squash(str(job.get("name") or ""))


class Investigation:
    """Collect evidence sentences (and the findings behind them) for one question."""

    def __init__(self, rec: ToolRecorder) -> None:
        self.rec = rec
        self.facts: list[str] = []
        self.subjects: list[str] = []
        self.jobs: list[dict[str, Any]] = []  # every job looked into, the asked one first
        self.logs: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.deps: dict[str, dict[str, Any]] = {}
        self.chain: list[dict[str, Any]] = []  # predecessors from the asked job to its root
        self.streams: list[dict[str, Any]] = []
        self.stations: list[dict[str, Any]] = []
        self.stream_jobs: dict[str, list[dict[str, Any]]] = {}
        self.station_jobs: dict[str, list[dict[str, Any]]] = {}
        self.missing: list[tuple[str, list[str]]] = []  # (name asked, closest names)
        self.ambiguous: list[tuple[str, list[str]]] = []
        self.unreadable: list[tuple[str, str]] = []  # (name asked, why the engine did not answer)
        self.overview_used = False
        self.follow_up = False  # the question named nothing: the conversation's subject was used
        self.focus: Focus | None = None  # the one thing the question asks (see focus_of)
        self.resources: str | None = None
        self.resource_rows: list[dict[str, Any]] = []  # resources the question names
        self._stations: list[dict[str, Any]] | None = None
        self._done: set[str] = set()

    async def run(self, question: str, names: list[str] | None = None) -> list[str]:
        """Investigate ``question``; return the evidence sentences in reading order."""
        hint = conversation_subject.get() if names is None else None
        asked = asked_names(question, hint) if names is None else names
        # A follow-up: the conversation's subject stands in for a name the question left out.
        self.follow_up = bool(hint) and asked == [hint] and hint not in candidate_names(question)
        self.focus = focus_of(question, follow_up=self.follow_up)
        targets = await self._resolve(asked, stream_asked="stream" in question.lower())
        if not targets and not asked:
            await self.overview()
        for kind, data in targets[:MAX_TARGETS]:
            if kind == "workstation":
                await self.workstation(data)
            elif kind == "stream":
                await self.stream(data)
            else:
                await self.job(data)
        await self._focused(self.focus)
        return self.facts

    async def _focused(self, focus: Focus | None) -> None:
        """Read what a focused question needs that the usual rules skipped for its job: three
        levels of successors of a job that did not fail (as a failed job's are), or its log."""
        if not self.jobs or focus is None:
            return
        key = ref(self.jobs[0])
        if focus == "blocks" and not (failed(self.jobs[0]) and key in self.deps):
            await self._dependencies(key, walk=False, depth=3)
        elif focus == "log" and key not in self.logs:
            log = await self.rec.call("get_job_log", job=key, summary=log_sentence)
            if not is_error(log):
                self.logs[key] = log
                self.facts.append(log_sentence(log))

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

    async def _resolve(
        self, names: list[str], *, stream_asked: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
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
            elif " " in name and stream_asked:
                # "the ap payments stream": the stream whose name holds those words, if one does.
                words = name.split()
                streams = await self.rec.call("list_job_streams", name="*" + "*".join(words) + "*")
                hits = [s for s in streams.get("items") or [] if named(name, s)]
                if len(hits) == 1:
                    found.append(("stream", hits[0]))
                    continue
            job = await self.rec.call("get_job", job=name, summary=job_sentence)
            if not is_error(job) and named(name, job):
                found.append(("job", job))
            elif not is_error(job):
                # The engine's closest spelling is a different job: say so, describe nothing.
                await self._missing(name, first=ref(job))
            elif job.get("candidates"):
                refs = [ref(c) for c in job["candidates"][:5]]
                self.ambiguous.append((name, refs))
                self.facts.append(f"{name} matches several jobs: {', '.join(refs)}.")
            elif (job.get("error") or {}).get("kind") == "not_found":
                # Not a job: a resource of that name is still in the plan (DB_SLOTS).
                res = await self.rec.call("list_resources", name=name, summary=resources_text)
                hit = [r for r in res.get("items") or [] if r.get("name") == name]
                if hit and not is_error(res):
                    self.resource_rows.append(hit[0])
                    self.subjects.append(name)
                elif held := await prompt_waiters(self.rec, name):  # a prompt jobs wait for
                    found += [("job", j) for j in held]
                else:
                    await self._missing(name)
            else:
                # The engine did not answer: that says nothing about whether the job exists.
                self.unreadable.append((name, error_text(job)))
                self.facts.append(f"{name} could not be looked up: {error_text(job)}.")
        return found

    async def _missing(self, name: str, first: str | None = None) -> None:
        """Record that ``name`` is not in the plan, with the closest names the plan has."""
        key = re.sub(r"[\s-]+", "_", name.strip()).upper()
        words = [w for w in re.split(r"[_.#]", key) if len(w) >= 3]
        pool: set[str] = set()
        for word in words[:3]:
            pattern = f"*{word[:4]}*"
            for tool in ("list_jobs", "list_job_streams"):
                res = await self.rec.call(
                    tool,
                    name=pattern,
                    limit=50,
                    summary=functools.partial(_closest_text, pattern, key),
                )
                if not is_error(res):
                    pool |= {str(i["name"]) for i in res.get("items") or [] if i.get("name")}
        closest = difflib.get_close_matches(key, sorted(pool), n=CLOSEST, cutoff=CLOSE_ENOUGH)
        if first:
            closest = [first, *(c for c in closest if c != first.rpartition(".")[2])][:CLOSEST]
        self.missing.append((name, closest))
        self.facts.append(
            f"{name} is not in the current plan (no job, job stream, workstation or resource "
            "of that name)."
            + (f" Closest names in the plan: {', '.join(closest)}." if closest else "")
        )

    async def overview(self) -> None:
        """Start from the plan summary; look into the first failed jobs."""
        self.overview_used = True
        s = await self.rec.call("plan_summary", summary=lambda r: clip(summary_text(r), 900))
        if is_error(s):
            self.facts.append(f"The plan could not be read: {error_text(s)}.")
            return
        self.facts.append(summary_text(s))
        for j in (s.get("failed_jobs") or {}).get("items", [])[:MAX_TARGETS]:
            full = await self.rec.call("get_job", job=ref(j), summary=job_sentence)
            if not is_error(full):
                await self.job(full)

    async def job(self, j: dict[str, Any]) -> None:
        """Gather status, log, dependencies, workstation and known issue for one job."""
        key = ref(j)
        if key in self._done:
            return
        self._done.add(key)
        self.jobs.append(j)
        self.subjects.append(str(j.get("name")))
        self.facts.append(job_sentence(j))
        internal, sub = j.get("internal_status"), j.get("substatus") or ""
        log_text = ""
        if failed(j):
            log = await self.rec.call("get_job_log", job=key, summary=log_sentence)
            if not is_error(log):
                self.logs[key] = log
                self.facts.append(log_sentence(log))
                log_text = "\n".join(
                    [*(log.get("error_lines") or []), *(log.get("aws_codes") or [])]
                )
        rerun = len(j.get("rerun_history") or []) > 1
        if failed(j) or waiting(j) or rerun or j.get("unresolved_dependencies"):
            await self._dependencies(key, walk=not failed(j), depth=3 if failed(j) else 1)
        if sub in {"READY_WAITING_FOR_AGENT", "READY_WAITING_FOR_LIMIT"} or internal == "FENCE":
            row = next(
                (w for w in await self._workstations() if w.get("name") == j.get("workstation")),
                None,
            )
            if row is not None:
                self.stations.append(row)
                self.facts.append(ws_sentence(row))
        if sub == "READY_WAITING_FOR_RESOURCES":
            await self._resources()
        await self._known_issue(
            key, log_text, internal or j.get("status"), sub, j.get("return_code")
        )

    async def _dependencies(self, key: str, *, walk: bool, depth: int = 1) -> None:
        """Read ``key``'s dependencies; for a held job walk up to the root cause (R4)."""
        more = {"depth": depth} if depth > 1 else {}
        deps = await self.rec.call("get_dependencies", job=key, summary=deps_text, **more)
        if is_error(deps):
            return
        self.deps[key] = deps
        self.facts.append(deps_text(deps))
        if not walk:
            return
        preds = (deps.get("predecessors") or {}).get("items", [])
        preds = [p for p in preds if p.get("name") and ref(p) not in self._done]
        # The held job is a symptom; a failed predecessor is the cause, a running one the wait.
        bad = [p for p in preds if failed(p)]
        if bad:
            full = await self.rec.call("get_job", job=ref(bad[0]), summary=job_sentence)
            if not is_error(full):
                self.chain.append(full)
                await self.job(full)
            return
        held = [p for p in preds if waiting(p) or p.get("status") in RUNNING | READY]
        if held and len(self.chain) < MAX_CHAIN:
            nxt = held[0]
            self._done.add(ref(nxt))
            # The full record: its estimate and times feed the deadline projection.
            full = await self.rec.call("get_job", job=ref(nxt), summary=job_sentence)
            nxt = nxt if is_error(full) else full
            self.chain.append(nxt)
            if nxt.get("status") in RUNNING or nxt.get("internal_status") in RUNNING:
                self.facts.append(job_sentence(nxt))
                return
            if nxt.get("status") in READY or nxt.get("internal_status") in READY:
                # Ready but not started: waiting for its agent, a limit, a fence or a resource.
                self._done.discard(ref(nxt))
                await self.job(nxt)
                return
            await self._dependencies(ref(nxt), walk=True)

    async def _resources(self) -> None:
        res = await self.rec.call("list_resources", exhausted_only=True, summary=resources_text)
        if not is_error(res):
            self.resources = resources_text(res)
            self.facts.append(self.resources)

    async def _known_issue(self, key: str, text: str, status: Any, sub: str, rc: Any) -> None:
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
            self.issues[key] = found["matches"][0]
            self.facts.append(issue_sentence(found["matches"][0]))

    async def stream(self, s: dict[str, Any]) -> None:
        """Describe a job stream and investigate its first failed or held job."""
        self.subjects.append(str(s.get("name")))
        self.streams.append(s)
        self.facts.append(stream_sentence(s))
        jobs = await self.rec.call("list_jobs", stream=s.get("name"), limit=50)
        self.stream_jobs[str(s.get("name"))] = [] if is_error(jobs) else jobs.get("items") or []
        items = [] if is_error(jobs) else jobs.get("items") or []
        bad = [j for j in items if failed(j)] or [
            j for j in items if waiting(j) or j.get("status") == "READY"
        ]
        for j in bad[:1]:
            full = await self.rec.call("get_job", job=ref(j), summary=job_sentence)
            if not is_error(full):
                await self.job(full)

    async def workstation(self, row: dict[str, Any]) -> None:
        """Describe a workstation and the jobs waiting on it."""
        self.subjects.append(str(row.get("name")))
        self.stations.append(row)
        self.facts.append(ws_sentence(row))
        jobs = await self.rec.call(
            "list_jobs", workstation=row.get("name"), status="READY,HOLD,WAITING,ERROR", limit=20
        )
        items = [] if is_error(jobs) else jobs.get("items") or []
        self.station_jobs[str(row.get("name"))] = items
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
            status, sub = station_issue(row["problems"])
            await self._known_issue(str(row.get("name")), "", status, sub, None)


def _closest_text(pattern: str, key: str, r: dict[str, Any]) -> str:
    """Summarise a name search, the names closest to ``key`` first (so the clip keeps them)."""
    names = sorted(
        {str(i.get("name")) for i in r.get("items") or [] if i.get("name")},
        key=lambda n: (-difflib.SequenceMatcher(None, key, n).ratio(), n),
    )
    return f"names like {pattern}: " + (", ".join(names[:12]) or "none")
