"""What the audit report reads and computes, kept out of the notebook so it can be tested.

The report's kernel reaches the server only through its REST API (``ServerAPI``, with the URL and
token the report runner puts in ``RESYNC_URL``/``RESYNC_TOKEN``, and a server with TLS verified
against ``RESYNC_SERVER_CA_BUNDLE`` when it is set) and TWS through the read-only
client; it never opens the memory store itself. The functions below turn those answers into rows
for pandas, and compare this report's figures with the previous report's.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx

from resync_ext.kernel.client import server_verify, tls_context
from resync_ext.kernel.errors import ReportDataError, ResyncClientError, ServiceDown
from resync_ext.kernel.signatures import signatures

MEMORY_PAGE = 500
MEMORY_CAP = 20_000


def parse_time(value: Any) -> datetime | None:
    """Return an aware UTC datetime from an ISO string, or None."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class ServerAPI:
    """A small synchronous client of the Resync REST API, for a report's kernel."""

    def __init__(
        self,
        url: str = "",
        token: str = "",
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str | None = None,
    ) -> None:
        url = url or os.environ.get("RESYNC_URL", "")
        token = token or os.environ.get("RESYNC_TOKEN", "")
        if not url:
            raise ReportDataError(
                "no Resync server to report on: set server_url, or RESYNC_URL and RESYNC_TOKEN"
            )
        self.url = url.rstrip("/") + "/"
        headers = {"Authorization": f"token {token}"} if token else {}
        try:
            # None: RESYNC_SERVER_CA_BUNDLE if set, else the system CAs; never off by default.
            tls = tls_context(server_verify(verify))
        except ResyncClientError as e:
            raise ReportDataError(e.message) from e
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            trust_env=False,
            transport=transport,
            verify=tls,
        )

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (relative to the server's base URL) and return its JSON."""
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            resp = self._http.get(path.lstrip("/"), params=clean)
        except httpx.TransportError as e:
            raise ReportDataError(f"cannot reach the Resync server at {self.url}: {e}") from e
        if resp.status_code == 503:
            raise ServiceDown(_message(resp))
        if resp.status_code in (401, 403):
            raise ReportDataError(f"the Resync server at {self.url} refused the token")
        if resp.status_code >= 400:
            raise ReportDataError(f"GET {path}: HTTP {resp.status_code}: {_message(resp)}")
        return resp.json()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _message(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("message") or resp.reason_phrase)
    except ValueError:
        return resp.reason_phrase


def fetch_memories(
    api: ServerAPI, since: datetime, *, cap: int = MEMORY_CAP
) -> list[dict[str, Any]]:
    """Return the memories created since ``since`` (newest first), page by page up to ``cap``."""
    out: list[dict[str, Any]] = []
    offset = 0
    while len(out) < cap:
        page = api.get("resync/api/memories", limit=MEMORY_PAGE, offset=offset)["memories"]
        for memory in page:
            created = parse_time(memory.get("created_at"))
            if created is not None and created < since:
                return out  # newest first: everything after this is older
            out.append(memory)
        if len(page) < MEMORY_PAGE:
            break
        offset += len(page)
    return out[:cap]


def memory_rows(memories: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten memories into rows: id, created, agent, state, verdict, confidence, reviewer."""
    rows = []
    for m in memories:
        meta = m.get("metadata") or {}
        audit = meta.get("audit") or {}
        review = meta.get("review") or {}
        rows.append(
            {
                "id": m.get("id"),
                "created": parse_time(m.get("created_at")),
                "agent": meta.get("agent_id"),
                "state": meta.get("state"),
                "verdict": audit.get("verdict"),
                "confidence": audit.get("confidence"),
                "reviewed_by": review.get("by"),
                "question": (meta.get("question") or "")[:120],
            }
        )
    return rows


def fetch_review_items(api: ServerAPI) -> list[dict[str, Any]]:
    """Return every item of the open review batches, each with its batch's name and time."""
    items = []
    for batch in api.get("resync/api/audit/flags")["batches"]:
        detail = api.get(f"resync/api/audit/flags/{batch['name']}")
        for item in detail.get("items", []):
            items.append({**item, "batch": batch["name"], "batch_created": batch.get("created")})
    return items


def reviewer_throughput(items: Iterable[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """Per reviewer, the decisions made since ``since`` and the median hours to decide."""
    decided: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        at = parse_time(item.get("decided_at"))
        if item.get("status") in ("approved", "rejected") and at is not None and at >= since:
            decided[item.get("decided_by") or "unknown"].append(item)
    rows = []
    for reviewer, mine in sorted(decided.items()):
        waits = [
            (parse_time(i["decided_at"]) - created).total_seconds() / 3600  # type: ignore[operator]
            for i in mine
            if (created := parse_time(i.get("batch_created"))) is not None
        ]
        rows.append(
            {
                "reviewer": reviewer,
                "decided": len(mine),
                "approved": sum(1 for i in mine if i["status"] == "approved"),
                "rejected": sum(1 for i in mine if i["status"] == "rejected"),
                "median_hours_to_decide": round(statistics.median(waits), 2) if waits else None,
            }
        )
    return rows


def _evidence_jobs(evidence: Iterable[Any]) -> list[str]:
    jobs = []
    for e in evidence or []:
        args = e.get("args") if isinstance(e, dict) else None
        if isinstance(args, dict) and isinstance(args.get("job"), str):
            jobs.append(args["job"].upper())
    return list(dict.fromkeys(jobs))


def memory_failures(memories: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per error signature found in a memory's answer and evidence."""
    rows = []
    for m in memories:
        meta = m.get("metadata") or {}
        evidence = meta.get("evidence") or []
        texts = [meta.get("answer") or ""]
        texts += [str(e.get("summary", "")) for e in evidence if isinstance(e, dict)]
        jobs = _evidence_jobs(evidence) or ["-"]
        keys = {s.key for text in texts for s in signatures(text)}
        rows += [
            {"signature": k, "job": j, "source": "memory", "ref": m.get("id")}
            for k in sorted(keys)
            for j in jobs
        ]
    return rows


async def plan_failures(client: Any, *, limit: int = 50) -> list[dict[str, Any]]:
    """Return one row per error signature in the logs of the plan's failed jobs."""
    from resync_ext.redact import mask_secrets
    from resync_ext.tws.tools import status_clause

    page = await client.list_jobs(status_clause("ABEND,FAIL"), limit=limit)
    rows = []
    for job in page.items:
        run = job.latest_run
        text = ""
        if run is not None and run.id:
            try:
                text = mask_secrets(await client.get_job_log(run.id))
            except Exception as e:  # one unreadable log must not hide the others
                text = f"error: job log unreadable: {type(e).__name__}"
        name = job.name.upper()  # by short name, as answers and tool arguments name jobs
        keys = [s.key for s in signatures(text)] or [f"{job.internal_status} rc={job.return_code}"]
        rows += [
            {"signature": k, "job": name, "source": "plan", "ref": run.id if run else None}
            for k in keys
        ]
    return rows


def recurring(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group failure rows by signature: how often, which jobs, seen where; most frequent first."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["signature"]].append(row)
    out = []
    for key, mine in groups.items():
        sources = Counter(r["source"] for r in mine)
        jobs = sorted({r["job"] for r in mine if r["job"] != "-"})
        out.append(
            {
                "signature": key,
                "occurrences": len({(r["source"], r["ref"]) for r in mine}),
                "in_memories": sources.get("memory", 0),
                "in_plan": sources.get("plan", 0),
                "jobs": ", ".join(jobs) or "-",
            }
        )
    return sorted(out, key=lambda r: (-r["occurrences"], r["signature"]))


def changes(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Describe in sentences what changed between the previous report's figures and these."""
    if not previous:
        return ["This is the first report: there is nothing to compare with yet."]
    lines = []
    for state, now in sorted((current.get("by_state") or {}).items()):
        before = (previous.get("by_state") or {}).get(state, 0)
        if now != before:
            lines.append(f"Memories {state}: {before} → {now} ({now - before:+d}).")
    for key, label in (
        ("pending_reviews", "Reviews pending"),
        ("plan_failed", "Failed jobs in plan"),
    ):
        before, now = previous.get(key), current.get(key)
        if before is not None and now is not None and before != now:
            lines.append(f"{label}: {before} → {now} ({now - before:+d}).")
    old = set(previous.get("signatures") or {})
    new = set(current.get("signatures") or {})
    if new - old:
        lines.append(f"New error signatures: {', '.join(sorted(new - old))}.")
    if old - new:
        lines.append(f"No longer seen: {', '.join(sorted(old - new))}.")
    old_jobs = set(previous.get("failed_jobs") or [])
    new_jobs = set(current.get("failed_jobs") or [])
    if new_jobs - old_jobs:
        lines.append(f"Newly failed jobs: {', '.join(sorted(new_jobs - old_jobs))}.")
    if old_jobs - new_jobs:
        lines.append(f"Jobs no longer failed: {', '.join(sorted(old_jobs - new_jobs))}.")
    when = previous.get("generated_at", "the previous report")
    return lines or [f"Nothing changed since {when}."]


def _ratio_text(value: Any, reason: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else f"not measured yet ({reason})"


def auditor_quality(metrics: dict[str, Any] | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The auditor measured against the reviewers, from ``GET /resync/api/audit/metrics``.

    Returns the lines the report states (precision, recall, reviewers' agreement, the reject
    threshold beside the precision it gives) and one row per agent and per day.
    """
    if not metrics or "auditor" not in metrics:
        return ["The server gave no auditor measures (the memory store is not available)."], []
    a = metrics["auditor"]
    kappa = metrics.get("kappa") or {}
    reject = metrics.get("reject_precision") or {}
    lines = [
        f"**Auditor precision:** {_ratio_text(a.get('precision'), a.get('precision_reason'))}"
        f" — {a['tp']} of {a['tp'] + a['fp']} flagged answers were found wrong by a reviewer",
        f"**Auditor recall:** {_ratio_text(a.get('recall'), a.get('recall_reason'))}"
        f" — {a['tp']} of {a['tp'] + a['fn']} wrong answers reviewers found had been flagged",
        "**Reviewers' agreement (Cohen's κ):** "
        + _ratio_text(kappa.get("value"), kappa.get("reason"))
        + f" over {kappa.get('items', 0)} item(s) decided by two reviewers",
        "**Reject threshold** (`audit_reject_confidence`): "
        f"{metrics.get('audit_reject_confidence')} — an 'incorrect' verdict at or above it "
        "was really wrong in "
        + _ratio_text(reject.get("precision"), "no such verdict decided yet")
        + f" of {reject.get('decided', 0)} decided case(s)",
    ]
    rows = [
        {"scope": f"agent {agent}", **{k: s.get(k) for k in _QUALITY_KEYS}}
        for agent, s in (metrics.get("auditor_by_agent") or {}).items()
    ]
    rows += [
        {"scope": f"day {s.get('day') or '?'}", **{k: s.get(k) for k in _QUALITY_KEYS}}
        for s in metrics.get("auditor_by_day") or []
    ]
    return lines, rows


_QUALITY_KEYS = ("precision", "recall", "tp", "fp", "fn", "tn")
