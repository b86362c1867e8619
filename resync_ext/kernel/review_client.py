"""The review queue's calls beyond approve and reject: correct, bulk, re-check, export, metrics.

A thin layer over :class:`~resync_ext.kernel.client.ResyncClient` (same connection, same errors)
for the review panel::

    review = ReviewClient(ResyncClient())
    review.correct(memory_id, "PAYROLL_EXTRACT abended with ORA-01017 ...", wrong_claim="RC 12")
    review.bulk([id1, id2], "approve", comment="checked against the logs")
    review.recheck(memory_id)["changes"]          # what the live plan says differently now
    review.export_case(memory_id)                 # a resync-eval YAML case, as text

A server older than these calls answers 404/405 from Jupyter's router, not from Resync:
:func:`not_offered` tells that apart from "this memory is not in the queue", so the panel can
disable the action and say why instead of showing an error on every card.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx

from resync_ext.kernel.client import ResyncClient, _api_error
from resync_ext.kernel.errors import ApiError, ResyncClientError, ServerUnreachable

#: Seconds to wait for a re-check: it re-runs the turn's recorded TWS reads against the plan.
RECHECK_TIMEOUT_S = 120.0
#: Characters kept of a memory id in an exported file's name.
NAME_LIMIT = 80


def not_offered(error: ResyncClientError) -> bool:
    """True when the server has no such endpoint (Jupyter's router answered, not Resync)."""
    if not isinstance(error, ApiError):
        return False
    if error.status == 405:
        return True
    # Resync's own 404 names the reason ("not_found"); the router's page has none.
    return error.status == 404 and error.reason == "error"


def raw_response(client: ResyncClient, method: str, url_path: str) -> httpx.Response:
    """Call ``<server url>/<url_path>`` on ``client``'s connection; return the raw response.

    ``ResyncClient.request`` decodes Resync's JSON under ``resync/api/``; Jupyter's ``api/me``
    and an exported YAML case are neither, so they go through the same connection (token, TLS)
    and fail with the same errors.
    """
    try:
        resp = client._http.request(method, url_path)
    except httpx.HTTPError as e:
        raise ServerUnreachable(
            f"The Resync server at {client.url} did not answer ({type(e).__name__}: {e}); "
            "is it still running?"
        ) from e
    if resp.status_code >= 400:
        raise _api_error(resp)
    return resp


def case_file_name(memory_id: str) -> str:
    """A file name for an exported case that is safe on every file system."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", memory_id).strip("-.")[:NAME_LIMIT]
    return f"eval-case-{stem or 'memory'}.yaml"


class ReviewClient:
    """Reviewers' calls on the audit queue, over one :class:`ResyncClient`."""

    def __init__(self, client: ResyncClient) -> None:
        self.client = client

    def decide(self, memory_id: str, action: str, comment: str | None = None) -> dict[str, Any]:
        """Approve or reject one memory; return the updated review item."""
        return self.client.review(memory_id, action, comment)

    def correct(
        self,
        memory_id: str,
        answer: str,
        *,
        comment: str | None = None,
        wrong_claim: str | None = None,
    ) -> dict[str, Any]:
        """Store a corrected answer beside the original; return the updated review item."""
        body: dict[str, Any] = {"memory_id": memory_id, "action": "correct", "answer": answer}
        if comment:
            body["comment"] = comment
        if wrong_claim:
            body["wrong_claim"] = wrong_claim
        return dict(self.client.request("POST", "audit/review", json=body))

    def bulk(
        self, memory_ids: list[str], action: str, comment: str | None = None
    ) -> dict[str, Any]:
        """Approve or reject several memories in one request; return the per-id results."""
        body: dict[str, Any] = {"memory_ids": list(memory_ids), "action": action}
        if comment:
            body["comment"] = comment
        return dict(self.client.request("POST", "audit/review/bulk", json=body))

    def metrics(self) -> dict[str, Any]:
        """The audit metrics: counts, and the auditor's precision, recall and κ when known."""
        return self.client.metrics()

    def recheck(self, memory_id: str, timeout: float = RECHECK_TIMEOUT_S) -> dict[str, Any]:
        """Re-run the turn's recorded reads against the live plan; return what changed."""
        wait = httpx.Timeout(self.client.timeout, read=timeout)
        path = f"audit/review/{quote(memory_id, safe='')}/recheck"
        return dict(self.client.request("POST", path, timeout=wait))

    def export_case(self, memory_id: str) -> str:
        """The reviewed turn as a ``resync-eval`` YAML case."""
        path = f"resync/api/audit/review/{quote(memory_id, safe='')}/export"
        resp = raw_response(self.client, "GET", path)
        if "json" in resp.headers.get("content-type", ""):
            body = resp.json()  # a server may wrap the text: {"yaml": "..."}
            if isinstance(body, dict) and isinstance(body.get("yaml"), str):
                return str(body["yaml"])
        return resp.text

    def whoami(self) -> str:
        """The Jupyter user this client acts as (``api/me``), the name decisions are filed under."""
        identity = raw_response(self.client, "GET", "api/me").json().get("identity") or {}
        return str(identity.get("username") or identity.get("name") or "")

    def offered(self) -> dict[str, bool]:
        """Which review actions this server offers, read from its OpenAPI document.

        Raises :class:`ResyncClientError` when the document cannot be read (the caller then
        assumes everything is offered and learns otherwise from :func:`not_offered`).
        """
        doc = self.client.request("GET", "openapi.json") or {}
        paths = [str(p) for p in doc.get("paths") or {}]
        review = [p for p in paths if "/audit/review" in p]
        return {
            "correct": '"correct"' in json.dumps(doc.get("components") or {}),
            "bulk": any(p.endswith("/bulk") for p in review),
            "recheck": any(p.endswith("/recheck") for p in review),
            "export": any(p.endswith("/export") for p in review),
        }
