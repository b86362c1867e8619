"""Resync's Prometheus metrics, served by Jupyter Server's own ``/metrics`` (the default registry).

Labels are kept low-cardinality: TWS endpoints are path templates (ids replaced by ``{id}``), chat
stages and outcomes are fixed words. Services call the small functions below; nothing here
imports a service.
"""

from __future__ import annotations

import re
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from resync_ext.redact import mask_secrets

_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

CHAT_TURNS = Counter("resync_chat_turns", "Chat turns by agent and outcome", ["agent", "outcome"])
CHAT_STAGE_SECONDS = Histogram(
    "resync_chat_stage_seconds",
    "Time spent per chat turn stage (retrieval, tools, lm, store, total)",
    ["stage"],
    buckets=_STAGE_BUCKETS,
)
GROUNDING_CLAIMS = Counter(
    "resync_grounding_claims",
    "Claims (names, codes, return codes, times) in answers checked against their evidence, "
    "and those dropped as unsupported",
    ["outcome"],
)
TOOL_CALLS = Counter("resync_tool_calls", "Agent tool calls by tool and result", ["tool", "ok"])
TWS_REQUEST_SECONDS = Histogram(
    "resync_tws_request_seconds",
    "HWA REST requests by endpoint template and status",
    ["endpoint", "status"],
    buckets=_STAGE_BUCKETS,
)
TWS_BREAKER_OPEN = Gauge(
    "resync_tws_breaker_open", "1 while the TWS client's circuit breaker is open or half-open"
)
MEMORIES = Gauge("resync_memories", "Memories by review state", ["state"])
AUDIT_VERDICTS = Counter("resync_audit_verdicts", "Auditor verdicts", ["verdict"])
AUDIT_PASSES = Counter("resync_audit_passes", "Audit passes run")
REVIEW_DECISIONS = Counter("resync_review_decisions", "Reviewer decisions", ["decision"])
REPORT_RUNS = Counter("resync_report_runs", "Report runs by final status", ["status"])

_ID = re.compile(
    r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)(?=/|$)", re.I
)


def endpoint_template(path: str) -> str:
    """``/twsd/api/v2/plan/job/<uuid>/joblog`` → ``/twsd/api/v2/plan/job/{id}/joblog``."""
    # a label is exported as it is: masked like any text leaving Resync
    return mask_secrets(_ID.sub("/{id}", path.split("?", 1)[0]))


def observe_tws(path: str, status: int | None, seconds: float) -> None:
    """Record one HWA request (``status`` None for a transport error)."""
    TWS_REQUEST_SECONDS.labels(endpoint_template(path), str(status or "error")).observe(seconds)


class HasBreaker(Protocol):
    """A client with a circuit breaker (the TWS client)."""

    @property
    def breaker_state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        ...


def track_breaker(client: HasBreaker) -> None:
    """Read the client's breaker state at every scrape."""
    TWS_BREAKER_OPEN.set_function(lambda: 0.0 if client.breaker_state == "closed" else 1.0)


def observe_turn(agent: str, outcome: str, timing: dict[str, object] | None = None) -> None:
    """Record a finished chat turn and, when it completed, the time of each stage."""
    CHAT_TURNS.labels(agent, outcome).inc()
    if not timing:
        return
    for stage in ("retrieval", "lm", "store", "total"):
        ms = timing.get(f"{stage}_ms")
        if isinstance(ms, int | float):
            CHAT_STAGE_SECONDS.labels(stage).observe(ms / 1000.0)
    tools = timing.get("tools")
    if isinstance(tools, list):
        for t in tools:
            CHAT_STAGE_SECONDS.labels("tools").observe(float(t["ms"]) / 1000.0)


def set_memory_counts(counts: dict[str, int]) -> None:
    """Publish the number of memories in each state."""
    for state, n in counts.items():
        MEMORIES.labels(state).set(n)
