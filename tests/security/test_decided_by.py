"""A review decision is recorded under the Jupyter user's name, and only a user allowed to write
may make one.

The server runs with a custom ``IdentityProvider`` (as JupyterHub's is: each request is a named
user) and a custom ``Authorizer`` that lets only "ann" write; the real embedded memory store
holds the flagged turns.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from tests.support import flag_turns

pytestmark = pytest.mark.slow


class HeaderIdentity(IdentityProvider):
    """The user named by the ``X-Test-User`` header (a stand-in for a Hub's OAuth identity)."""

    def get_user(self, handler: Any) -> User | None:
        """Return the named user, or nobody."""
        name = handler.request.headers.get("X-Test-User")
        return User(username=name, name=name.title()) if name else None

    def is_token_authenticated(self, handler: Any) -> bool:
        """A header identity, as a Hub token is: no XSRF cookie to check."""
        return True


class ReviewersOnly(Authorizer):
    """Everyone reads; only ann writes (reviews)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Refuse writes to anyone but ann."""
        return action == "read" or user.username == "ann"


@pytest.fixture
def resync_config(resync_config: dict[str, Any]) -> dict[str, Any]:
    return {**resync_config, "open_memory": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.ServerApp.identity_provider_class = HeaderIdentity
    jp_server_config.ServerApp.authorizer_class = ReviewersOnly
    return jp_server_config


async def test_decided_by_is_the_users_name_and_a_reader_cannot_decide(
    jp_fetch: Any, resync_services: Any
) -> None:
    evidence = [{"tool": "get_job_log", "args": {"job": "PAYROLL_EXTRACT"}, "summary": "ORA-01017"}]
    audit = {"verdict": "suspicious", "confidence": 0.6, "reason": "no evidence for the rerun"}
    first, second = await flag_turns(
        resync_services,
        ["why did PAYROLL_EXTRACT fail?", "what blocks DAILY_PAY?"],
        answer="rerun PAYROLL_EXTRACT",
        evidence=evidence,
        audit=audit,
    )

    async def review(user: str, memory_id: str) -> Any:
        body = json.dumps({"memory_id": memory_id, "action": "approve"})
        return await jp_fetch(
            "resync", "api", "audit", "review", method="POST", body=body,
            headers={"X-Test-User": user},
        )  # fmt: skip

    with pytest.raises(HTTPClientError) as exc:
        await review("bob", first)
    assert exc.value.code == 403 and exc.value.response is not None
    assert json.loads(exc.value.response.body)["permission"] == "resync:write"

    decided = json.loads((await review("ann", first)).body)
    assert decided["status"] == "approved" and decided["decided_by"] == "ann"

    # bob may still read the queue: his refused attempt left the other item pending
    flags = await jp_fetch("resync", "api", "audit", "flags", headers={"X-Test-User": "bob"})
    name = json.loads(flags.body)["batches"][0]["name"]
    batch = await jp_fetch("resync", "api", "audit", "flags", name, headers={"X-Test-User": "bob"})
    items = {i["memory_id"]: i for i in json.loads(batch.body)["items"]}
    assert items[first]["decided_by"] == "ann" and items[second]["status"] == "pending"
