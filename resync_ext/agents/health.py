"""Deterministic plan-health analysis for tws-analyzer: failures, lateness, risk, blast radius.

Reads the plan summary, then:
- walks the successors of each failed job (depth 3) to find the one failure that blocks the most
  downstream work and the critical jobs it puts at risk, and reads the decisive log line of the
  first failures;
- projects each unfinished critical job along its chain against its deadline (the troubleshooter's
  rules, resync_ext.agents.investigate / verdict);
- compares running jobs' elapsed time with their estimates (long runners);
- names what the waiting jobs wait for when it is not another job (a file, a prompt, a resource,
  an agent, a limit): the blockers of a night where nothing failed.
What it finds is kept as lines that code writes at the top of the answer (``lines``) besides the
evidence sentences for the model (``facts``).
"""

from __future__ import annotations

import functools
from typing import Any

from resync_ext.agents.evidence import clip, decisive_lines, job_sentence, jobs_text, log_sentence
from resync_ext.agents.investigate import Investigation, ref, summary_text
from resync_ext.agents.toolbox import ToolRecorder, error_text, is_error
from resync_ext.agents.verdict import BASIS, deadline_line, duration_line, status_words

MAX_FAILED = 8
MAX_LOGS = 3
MAX_CRITICAL = 4
MAX_RUNNING = 8
MAX_BLOCKERS = 5
LONG = 1.5  # elapsed / estimate from which a running job is "running long"


def _names(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in nodes if n.get("name")]


class PlanHealth:
    """Collect plan-health evidence sentences and code-written lines through a ToolRecorder."""

    def __init__(self, rec: ToolRecorder) -> None:
        self.rec = rec
        self.facts: list[str] = []
        self.lines: list[str] = []
        self.subjects: list[str] = []

    async def run(self) -> list[str]:
        """Analyse the current plan; return the evidence sentences."""
        s = await self.rec.call("plan_summary", summary=summary_text)
        if is_error(s):
            self.facts.append(f"The plan could not be read: {error_text(s)}.")
            self.lines.append(f"The plan could not be read: {error_text(s)}.")
            return self.facts
        self.facts.append(summary_text(s))
        failed = (s.get("failed_jobs") or {}).get("items", [])[:MAX_FAILED]
        await self._failures(failed)
        at_risk = await self._impacts(failed)
        await self._critical(s, at_risk)
        await self._long_runners()
        await self._blockers()
        res = await self.rec.call("list_resources", exhausted_only=True, summary=_res_text)
        if not is_error(res) and res.get("items"):
            self.facts.append(_res_text(res))
            self.lines.append(_res_text(res))
        if not self.lines:
            self.lines.append("Nothing failed, nothing is running long, nothing is blocked.")
        return self.facts

    async def _failures(self, failed: list[dict[str, Any]]) -> None:
        if not failed:
            self.lines.append("No job failed.")
            return
        parts: list[str] = []
        for j in failed:
            rc = j.get("return_code")
            part = f"{ref(j)} ({status_words(j)}" + (
                f", return code {rc})" if rc is not None else ")"
            )
            if len(parts) < MAX_LOGS:
                log = await self.rec.call("get_job_log", job=ref(j), summary=log_sentence)
                if not is_error(log):
                    self.facts.append(log_sentence(log))
                    top = decisive_lines(log)
                    if top:
                        part += f': "{clip(top[0], 120)}"'
            parts.append(part)
            self.subjects.append(str(j.get("name")))
        self.lines.append(_listed(f"Failed ({len(failed)})", parts))

    async def _impacts(self, failed: list[dict[str, Any]]) -> list[str]:
        impacts: list[tuple[int, str, list[str]]] = []
        for j in failed:
            key = ref(j)
            deps = await self.rec.call(
                "get_dependencies", job=key, depth=3, summary=functools.partial(_impact_text, key)
            )
            if is_error(deps):
                continue
            succ = _names((deps.get("successors") or {}).get("items", []))
            critical = [ref(n) for n in succ if n.get("critical")]
            impacts.append((len(succ), key, critical))
        if not impacts:
            return []
        impacts.sort(key=lambda x: (-x[0], x[1]))
        n, key, critical = impacts[0]
        fix_first = (
            f"Fix first: {key} blocks the most downstream work ({n} jobs wait for it"
            + (f", including critical {', '.join(critical[:4])}" if critical else "")
            + ")."
        )
        self.facts.append(fix_first)
        if n:
            self.lines.append(fix_first)
        for count, other, crit in impacts[1:4]:
            self.facts.append(
                f"{other} blocks {count} jobs"
                + (f" (critical: {', '.join(crit[:3])})" if crit else "")
                + "."
            )
        return sorted({c for _, _, crit in impacts for c in crit})

    async def _critical(self, s: dict[str, Any], behind_failure: list[str]) -> None:
        """Project each unfinished critical job against its deadline."""
        late = [ref(j) for j in (s.get("late_critical_jobs") or {}).get("items", [])]
        res = await self.rec.call(
            "list_jobs", status="WAITING,READY,RUNNING,HELD,BLOCKED", limit=50, summary=jobs_text
        )
        open_jobs = [] if is_error(res) else res.get("items") or []
        critical = [j for j in open_jobs if j.get("critical")][:MAX_CRITICAL]
        lines = []
        for j in critical:
            full = await self.rec.call("get_job", job=ref(j), summary=job_sentence)
            if is_error(full):
                continue
            inv = Investigation(self.rec)
            await inv.job(full)
            verdict = deadline_line(inv, basis=False)
            self.facts.extend(f for f in inv.facts if f not in self.facts)
            if verdict:
                # "It has missed its deadline ..." reads as "JOB has missed its deadline ...".
                if verdict.startswith("It "):
                    lines.append(f"{ref(full)} {verdict[3:]}")
                else:
                    lines.append(f"{ref(full)}: {verdict}")
                self.subjects.append(str(full.get("name")))
        if lines:
            self.lines.append(_listed(f"Critical jobs ({BASIS})", lines))
        elif late or behind_failure:
            self.lines.append(
                "Critical jobs at risk: "
                + ", ".join(
                    [
                        *(f"{x} (late)" for x in late[:5]),
                        *(f"{x} (behind a failure)" for x in behind_failure[:5] if x not in late),
                    ]
                )
                + "."
            )
        if not critical and not late and not behind_failure:
            self.facts.append("No critical job is late or behind a failure.")

    async def _long_runners(self) -> None:
        res = await self.rec.call("list_jobs", status="RUNNING", limit=50, summary=jobs_text)
        running = [] if is_error(res) else res.get("items") or []
        long = []
        for j in running[:MAX_RUNNING]:
            full = await self.rec.call("get_job", job=ref(j), summary=job_sentence)
            if is_error(full):
                continue
            ratio = full.get("elapsed_vs_estimate")
            if (ratio is not None and float(ratio) >= LONG) or full.get("max_duration_exceeded"):
                line = duration_line(full) or "It is running longer than expected."
                long.append(f"{ref(full)} {line[3:]}" if line.startswith("It ") else line)
                self.subjects.append(str(full.get("name")))
        if long:
            self.lines.append(_listed("Running longer than expected", long))

    async def _blockers(self) -> None:
        """Name waiting jobs whose wait is not for another job: the root of each waiting chain."""
        res = await self.rec.call(
            "list_jobs", status="HELD,WAITING,READY", limit=50, summary=jobs_text
        )
        waiting = [] if is_error(res) else res.get("items") or []
        roots = [
            j
            for j in waiting
            if j.get("substatus") and "PREDECESSOR" not in str(j.get("substatus"))
        ][:MAX_BLOCKERS]
        # Jobs held up by the same thing share one line: five jobs behind one unlinked agent are
        # one problem, and a list of five lines saying so pushes the answer off the screen.
        groups: dict[str, list[str]] = {}
        for j in roots:
            full = await self.rec.call("get_job", job=ref(j), summary=job_sentence)
            if is_error(full):
                continue
            groups.setdefault(_held_by(full), []).append(ref(full))
            self.subjects.append(str(full.get("name")))
        parts = [_blocked_sentence(jobs, held) for held, jobs in groups.items()]
        if parts:
            # A short label: a small model copies a long one into every sentence it writes.
            self.lines.append(_listed("Blockers", parts))


def _held_by(job: dict[str, Any]) -> str:
    """What a waiting job waits for, in words: its unresolved dependencies, else its substatus
    (READY_WAITING_FOR_AGENT -> "waiting for agent") with the workstation it waits on."""
    what = ", ".join(str(x) for x in (job.get("unresolved_dependencies") or [])[:2])
    if what:
        return f"wait for {what}"
    reason = str(job.get("substatus") or "").partition("_")[2].replace("_", " ").lower()
    station = job.get("workstation")
    return f"{reason} (workstation {station})" if station else reason


def _blocked_sentence(jobs: list[str], held: str) -> str:
    """ "A waits for X" / "A and B are waiting for agent (workstation W)"."""
    many = len(jobs) > 1
    names = ", ".join(jobs[:-1]) + f" and {jobs[-1]}" if many else jobs[0]
    if held.startswith("wait for "):
        return f"{names} {held if many else 'waits' + held[4:]}"
    return f"{names} {'are' if many else 'is'} {held}"


def _listed(label: str, items: list[str]) -> str:
    """A label and one item per line (a Markdown list): a paragraph of eight failures, each
    with its log line, is not read; a list is."""
    return f"{label}:" + "".join(f"\n- {x if x.endswith('.') else x + '.'}" for x in items)


def _impact_text(key: str, deps: dict[str, Any]) -> str:
    succ = _names((deps.get("successors") or {}).get("items", []))
    if not succ:
        return f"No job waits for {key}."
    return (
        f"{len(succ)} jobs wait for {key}: "
        + ", ".join(f"{n['name']}{' (critical)' if n.get('critical') else ''}" for n in succ[:6])
        + "."
    )


def _res_text(r: dict[str, Any]) -> str:
    items = r.get("items") or []
    if not items:
        return "No resource is exhausted."
    return (
        "Exhausted resources: "
        + ", ".join(
            str(x.get("name"))
            + (f" (held by {', '.join(map(str, x['holders']))})" if x.get("holders") else "")
            for x in items[:4]
        )
        + "."
    )
