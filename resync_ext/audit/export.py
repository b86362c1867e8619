"""A reviewed turn as a ``resync-eval`` case, so the team's eval set grows from real mistakes.

The case (SPEC.md section 8, read by ``resync_ext.evaluation.cases.load_case``) asks the turn's
question of its agent on an inline scenario rebuilt from the turn's recorded evidence: each job
the evidence describes (``NAME (stream S, workstation W) is STATUS (INTERNAL, SUBSTATUS), return
code N``, list items ``NAME in S (INTERNAL, return code N)``) with its workstation, stream,
status, return code and the log lines the evidence quotes (``Log of NAME: "..." | "..."``). The
evidence itself is kept, verbatim, in the scenario's description, and the case expects the
answer to name the objects the reviewer's answer (the correction, if any) names from it, and
not to repeat the claim the reviewer marked wrong.

The sentences parsed are the ones ``resync_ext.agents.evidence`` writes, so the patterns below
follow that module; what does not parse is simply left out of the scenario (it stays in the
description), and the scenario is validated by the simulator's own loader before it is served.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import yaml

from resync_ext.audit.review_queue import ReviewItem
from resync_ext.tws.simulator.scenario import load_scenario
from resync_ext.tws.simulator.status import JOB_STATUSES, SUBSTATUSES

_NAME = r"[A-Za-z0-9][A-Za-z0-9_#.\-]*"
_JOB = re.compile(
    rf"^(?P<name>{_NAME}) \((?:(?:job )?stream (?P<stream>{_NAME}))?(?:, )?"
    rf"(?:workstation (?P<ws>{_NAME}))?\) is (?P<status>[A-Z]+)"
    r"(?: \((?P<internal>[A-Z]+)(?:, (?P<sub>[A-Z_]+))?\))?"
    r"(?:, return code (?P<rc>-?\d+))?"
)
_ITEM = re.compile(
    rf"(?P<name>{_NAME}) in (?P<stream>{_NAME}) \((?P<internal>[A-Z]+)"
    r"(?:, (?P<sub>[A-Z_]+))?(?:, return code (?P<rc>-?\d+))?\)"
)
_LOG = re.compile(rf"^Log of (?P<name>{_NAME}): (?P<lines>.*)$", re.S)
# HWA's external statuses, as job sentences give them when no internal status follows.
_EXTERNAL = {
    "SUCCESSFUL": "SUCC",
    "ERROR": "ABEND",
    "WAITING": "HOLD",
    "RUNNING": "EXEC",
    "BLOCKED": "HOLD",
    "CANCELED": "CANCL",
    "CANCELLED": "CANCL",
}
MAX_MUST_NOT = 80  # a longer "wrong claim" is a sentence of prose, not a phrase to look for


def _status(internal: str | None, external: str) -> str:
    for status in (internal, _EXTERNAL.get(external), external):
        if status and status in JOB_STATUSES:
            return status
    return "SUCC"


def _jobs(evidence: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The jobs the evidence describes, by name, as scenario job specs plus their stream."""
    jobs: dict[str, dict[str, Any]] = {}
    logs: dict[str, str] = {}
    for e in evidence:
        summary = str(e.get("summary") or "").strip()
        found = [m for m in [_JOB.match(summary)] if m] or list(_ITEM.finditer(summary))
        for m in found:
            g = m.groupdict()
            name = g["name"].split(".")[-1]
            job: dict[str, Any] = jobs.setdefault(name, {"name": name})
            job["status"] = _status(g.get("internal"), g.get("status") or "")
            if g.get("sub") and g["sub"] in SUBSTATUSES:
                job["substatus"] = g["sub"]
            if g.get("rc") is not None:
                job["return_code"] = int(g["rc"])
            if g.get("ws"):
                job["workstation"] = g["ws"]
            if g.get("stream"):
                job["_stream"] = g["stream"]
        if log := _LOG.match(summary):
            quoted = re.findall(r'"([^"]*)"', log.group("lines"))
            logs[log.group("name").split(".")[-1]] = "\n".join(quoted or [log.group("lines")])
    for name, text in logs.items():
        if name in jobs:
            jobs[name]["log"] = text
    return jobs


def scenario_from_evidence(item: ReviewItem, now: str | None = None) -> dict[str, Any]:
    """An inline scenario with the jobs the item's evidence describes (validated)."""
    jobs = _jobs(item.evidence)
    when = now or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    streams: dict[str, list[dict[str, Any]]] = {}
    workstations: set[str] = set()
    for job in jobs.values():
        stream = job.pop("_stream", None) or "REVIEWED"
        job.setdefault("workstation", "AGENT01")
        workstations.add(job["workstation"])
        streams.setdefault(stream, []).append(job)
    recorded = "\n".join(
        f"{e.get('tool')}({e.get('args') or {}}): {e.get('summary', '')}" for e in item.evidence
    )
    scenario = {
        "name": f"review-{item.memory_id[:8]}",
        "description": f"Rebuilt from the recorded evidence of memory {item.memory_id}:\n"
        + recorded,
        "now": when,
        "workstations": [{"name": w, "type": "AGENT"} for w in sorted(workstations)],
        "job_streams": [
            {
                "name": name,
                "workstation": stream_jobs[0]["workstation"],
                "sched_time": when,
                "jobs": stream_jobs,
            }
            for name, stream_jobs in streams.items()
        ],
    }
    load_scenario(dict(scenario))  # the simulator refuses what it cannot build: fail here
    return scenario


def eval_case(item: ReviewItem, now: str | None = None) -> dict[str, Any]:
    """The ``resync-eval`` case of a reviewed item."""
    scenario = scenario_from_evidence(item, now)
    answer = item.corrected_answer or item.answer
    names = [j["name"] for s in scenario["job_streams"] for j in s["jobs"]]
    mentions = [n for n in names if n.upper() in answer.upper()]
    expect: dict[str, Any] = {"mentions": mentions[:3]}
    if item.wrong_claim and len(item.wrong_claim) <= MAX_MUST_NOT:
        expect["must_not"] = [item.wrong_claim]
    return {
        "scenario": scenario,
        "question": item.question,
        "agent": item.agent_id,
        "tags": [],
        "expect": expect,
    }


def eval_case_yaml(item: ReviewItem, now: str | None = None) -> str:
    """The case as YAML, with a header saying where it came from."""
    how = "corrected" if item.corrected_answer else item.status
    header = (
        f"# Exported from review: memory {item.memory_id} ({item.agent_id}), {how} by "
        f"{item.decided_by or 'nobody yet'} at {item.decided_at or '-'}.\n"
    )
    if item.corrected_answer:
        header += "# The reviewer's answer:\n" + "".join(
            f"#   {line}\n" for line in item.corrected_answer.splitlines()
        )
    body = yaml.safe_dump(eval_case(item, now), sort_keys=False, allow_unicode=True, width=100)
    return header + body
