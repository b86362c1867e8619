"""A team on a real JupyterHub: one Resync service, roles from the Hub, panels with Hub tokens.

The Hub runs deploy/jupyterhub/jupyterhub_config.py (DummyAuthenticator, SimpleLocalProcessSpawner,
configurable-http-proxy) with Resync as its managed service at ``/services/resync/``, against the
demo simulator and the scripted LM on loopback. Each user's client is the kernel-side
``ResyncClient`` as a panel builds it on a Hub: no URL, no token given; it finds the service from
``JUPYTERHUB_PUBLIC_HUB_URL`` and ``JUPYTERHUB_BASE_URL`` and uses ``JUPYTERHUB_API_TOKEN``.

Users (the demo team): ana and alex are analysts, rita a reviewer, olga has no Resync role.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ApiError
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import assert_answered_and_remembered, question
from tests.load.fixtures import lm_stub, script, sim
from tests.team.hub_process import CHP, REPO, HubProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

AGENT = "tws-troubleshooter"
MEMORY_OPEN = "Resync: memory store open in"


@pytest.fixture(scope="module")
def hub(
    tmp_path_factory: pytest.TempPathFactory, sim: Any, lm_stub: OpenAIStub
) -> Iterator[HubProcess]:
    assert CHP.exists(), f"{CHP} is missing: run scripts/install-team.sh (make test does)"
    service_env = {
        "RESYNC_TWS_URL": sim.url,
        "RESYNC_LM_MODEL": "openai/stub-model",
        "RESYNC_LM_API_BASE": lm_stub.base_url,
        "RESYNC_LM_API_KEY": "sk-test-key",
        "RESYNC_LM_TIMEOUT": "30",
        # every 3 s: the schedule must run on the service within the test
        "RESYNC_AUDIT_INTERVAL_MIN": "0.05",
        "RESYNC_REPORT_CRON": "",
        "RESYNC_AGENTS_CONFIG": str(REPO / "config" / "runtime.json"),
    }
    proc = HubProcess(tmp_path_factory.mktemp("hub"), service_env)
    proc.start()
    try:
        proc.wait(lambda: MEMORY_OPEN in proc.log(), 180, "Resync service with its memory open")
        proc.wait(proc.routed, 60, "proxy routes to the Hub and the service")
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def tokens(hub: HubProcess) -> dict[str, str]:
    """Each user's Hub API token, as the Hub gives their server (their own scopes)."""
    return {user: hub.login(user) for user in ("ana", "alex", "rita", "olga")}


@pytest.fixture(scope="module")
def hub_env(hub: HubProcess) -> Iterator[pytest.MonkeyPatch]:
    """The Hub's variables a user's kernel sees (the token is set per client)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTERHUB_PUBLIC_HUB_URL", f"{hub.url}/hub/")
        mp.setenv("JUPYTERHUB_BASE_URL", "/")
        yield mp


@pytest.fixture
def panel_client(
    hub_env: pytest.MonkeyPatch, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Build ``user``'s client as a panel in their kernel does (``ResyncClient()``)."""
    made: list[ResyncClient] = []

    def make(user: str) -> ResyncClient:
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", tokens[user])
        client = ResyncClient()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="module")
def anas_turn(hub: HubProcess, tokens: dict[str, str], hub_env: pytest.MonkeyPatch) -> dict:
    """Ana asks one question through the service; return the ticket and the turn's final."""
    ticket = uuid.uuid4().hex[:10]
    hub_env.setenv("JUPYTERHUB_API_TOKEN", tokens["ana"])
    client = ResyncClient()
    hub_env.delenv("JUPYTERHUB_API_TOKEN")

    async def ask() -> list[dict[str, Any]]:
        async with client.chat(AGENT) as conn:
            await conn.ask("t1", question(ticket))
            return [frame async for frame in conn.turn_frames("t1")]

    try:
        assert client.url == hub.service_url
        frames = asyncio.run(ask())
    finally:
        client.close()
    final = assert_answered_and_remembered(frames, ticket)
    return {"ticket": ticket, "memory_id": final["memory_id"]}


def test_an_analysts_turn_is_remembered_and_found_by_another_analyst(
    anas_turn: dict, panel_client: Any
) -> None:
    alex = panel_client("alex")
    found = alex.memories(question(anas_turn["ticket"]), limit=5)
    assert found and found[0]["id"] == anas_turn["memory_id"], found
    assert anas_turn["ticket"] in found[0]["metadata"]["answer"]


def _judged(client: ResyncClient, memory_id: str, timeout: float = 60.0) -> str:
    """Wait until the auditor judged ``memory_id`` (flagged, or kept: a reviewer may decide
    either); return its state."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = str(client.memory(memory_id)["metadata"]["state"])
        if state != "new":
            return state
        time.sleep(0.5)
    raise AssertionError(f"{memory_id} was not judged within {timeout}s: {client.metrics()}")


def _batch_of(client: ResyncClient, memory_id: str) -> str:
    """The review batch that holds ``memory_id``."""
    for summary in client.batches():
        if any(i["memory_id"] == memory_id for i in client.batch(summary["name"])["items"]):
            return str(summary["name"])
    raise AssertionError(f"{memory_id} is in no review batch")


def test_review_decisions_follow_the_hub_roles(anas_turn: dict, panel_client: Any) -> None:
    memory_id = anas_turn["memory_id"]
    ana, rita = panel_client("ana"), panel_client("rita")
    assert _judged(ana, memory_id) in ("flagged", "audited_ok")

    with pytest.raises(ApiError) as refused:
        ana.review(memory_id, "approve", "looks right to me")
    assert refused.value.status == 403
    assert "custom:resync:write" in refused.value.detail
    assert "resync-reviewer" in refused.value.detail
    with pytest.raises(ApiError) as no_run:
        ana.run_audit()
    assert no_run.value.status == 403 and "custom:resync:execute" in no_run.value.detail

    item = rita.review(memory_id, "approve", "checked against the plan")
    assert item["status"] == "approved" and item["decided_by"] == "rita"
    assert ana.memory(memory_id)["metadata"]["state"] == "approved"
    with pytest.raises(ApiError) as no_archive:
        rita.archive(_batch_of(ana, memory_id))  # an analyst reads the queue
    assert no_archive.value.status == 403 and "resync-admin" in no_archive.value.detail


def test_a_user_without_a_resync_role_is_refused(hub: HubProcess, panel_client: Any) -> None:
    olga = panel_client("olga")
    with pytest.raises(ApiError) as refused:
        olga.health()
    assert refused.value.status == 403
    assert "no access" in refused.value.detail and "resync-analyst" in refused.value.detail

    async def chat() -> None:
        async with olga.chat(AGENT):
            pass

    with pytest.raises(ApiError) as no_chat:
        asyncio.run(chat())
    assert no_chat.value.status == 403
    # and no token at all is no way in either
    r = httpx.get(f"{hub.service_url}resync/api/health", timeout=10, trust_env=False)
    assert r.status_code in (302, 403), r.status_code


def test_the_audit_schedule_runs_on_the_service(hub: HubProcess, panel_client: Any) -> None:
    # Every audit pass is recorded in passes.jsonl; only a whole pass records one that audited
    # nothing (the chat path records the turns it judged), and nobody here ran one by hand (the
    # analyst's POST audit/run was refused): a record with nothing audited is the schedule's.
    passes = hub.data_dir / "audit" / "passes.jsonl"

    def scheduled() -> list[dict[str, Any]]:
        if not passes.is_file():
            return []
        records = [json.loads(line) for line in passes.read_text().splitlines() if line]
        return [r for r in records if r["audited"] == 0 and r["errors"] == 0]

    hub.wait(lambda: bool(scheduled()), 30, "scheduled audit pass")
    scheduler = panel_client("ana").health()["checks"]["scheduler"]
    assert scheduler["ok"] and "this server runs the shared jobs" in scheduler["detail"]


def test_a_users_own_server_gets_a_token_with_their_resync_scopes(
    hub: HubProcess, tokens: dict[str, str]
) -> None:
    """SimpleLocalProcessSpawner starts ana's server: its JUPYTERHUB_API_TOKEN (what her panels
    use) carries her Resync scopes and no more, and it runs no Resync of its own."""
    auth = {"Authorization": f"token {tokens['ana']}"}
    api = f"{hub.url}/hub/api/users/ana"
    with httpx.Client(headers=auth, timeout=30, trust_env=False) as http:
        assert http.post(f"{api}/server").status_code in (201, 202)
        hub.wait(
            lambda: http.get(api).json()["servers"].get("", {}).get("ready"), 90, "ana's server"
        )
        server_tokens = [
            t
            for t in http.get(f"{api}/tokens").json()["api_tokens"]
            if t["note"].startswith("Server")
        ]
        assert len(server_tokens) == 1, server_tokens
        scopes = set(server_tokens[0]["scopes"])
        assert {"access:services!service=resync", "custom:resync:read"} <= scopes
        assert not scopes & {"custom:resync:write", "custom:resync:execute", "custom:resync:admin"}
        assert http.get(f"{hub.url}/user/ana/api/status").status_code == 200
        own = http.get(f"{hub.url}/user/ana/resync/api/health")
        assert own.status_code == 404, "the user's server must not run Resync itself"
        assert http.delete(f"{api}/server").status_code in (202, 204)


__all__ = ["lm_stub", "script", "sim"]
