"""The kernel's client: finding the server, REST errors in the server's words, the chat socket."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from resync_ext.kernel.client import ResyncClient, rank_servers
from resync_ext.kernel.errors import NO_SERVER, ApiError, ServerNotFound, ServerUnreachable
from tests.kernel.widgets.server import ANSWER, MODEL_QUESTION, RunningServer, free_port


def test_no_server_gives_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(ServerNotFound) as exc:
        ResyncClient()
    assert str(exc.value) == NO_SERVER
    assert "make run" in NO_SERVER and "RESYNC_URL and RESYNC_TOKEN" in NO_SERVER


def test_environment_wins_over_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESYNC_URL", "http://127.0.0.1:9/base")
    monkeypatch.setenv("RESYNC_TOKEN", "t0k")
    client = ResyncClient()
    assert client.url == "http://127.0.0.1:9/base/"
    assert client.headers == {"Authorization": "token t0k"}
    with pytest.raises(ServerUnreachable, match="did not answer"):
        client.health()
    client.close()


def test_servers_whose_root_holds_the_notebook_come_first(tmp_path: Path) -> None:
    project = tmp_path / "project"
    cwd = project / "notebooks"
    servers = [
        {"url": "a", "root_dir": str(tmp_path / "elsewhere")},
        {"url": "b", "root_dir": str(tmp_path)},
        {"url": "c", "root_dir": str(project)},
    ]
    assert [s["url"] for s in rank_servers(servers, cwd)] == ["c", "b", "a"]


@pytest.mark.slow
def test_finds_the_running_server_and_skips_a_stale_one(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    real = json.loads(next(server.runtime_dir.glob("jpserver-*.json")).read_text())
    (runtime / f"jpserver-{real['pid']}.json").write_text(json.dumps(real))
    # A server file that ranks first (its root holds the cwd) but does not answer.
    stale = {**real, "url": f"http://127.0.0.1:{free_port()}/", "root_dir": str(tmp_path)}
    (runtime / f"jpserver-{os.getpid()}.json").write_text(json.dumps(stale))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.chdir(tmp_path)
    with ResyncClient() as client:
        assert client.url == server.url and client.token == server.token
        assert client.health()["status"] in {"ok", "degraded"}


@pytest.mark.slow
def test_http_errors_carry_the_servers_message(server: RunningServer) -> None:
    with server.client() as client:
        with pytest.raises(ApiError) as exc:
            client.archive("audit-20000101T000000Z")
        assert exc.value.status == 404 and "audit-20000101T000000Z" in exc.value.detail
        with pytest.raises(ApiError) as exc:
            client.archive("../../etc/passwd")
        assert exc.value.status == 400 and "not a batch name" in exc.value.detail
        with pytest.raises(ApiError) as exc:
            client.review("00000000-0000-0000-0000-000000000000", "approve")
        assert exc.value.status == 404
        with pytest.raises(ApiError) as exc:
            client.review("x", "delete")
        assert exc.value.status == 400 and "action" in exc.value.detail
    with ResyncClient(server.url, "wrong-token") as intruder, pytest.raises(ApiError) as exc:
        intruder.agents()
    assert exc.value.status == 403 and exc.value.detail == "the server refused the token"


@pytest.mark.slow
@pytest.mark.asyncio
async def test_chat_socket_streams_a_turn_and_refuses_an_unknown_agent(
    server: RunningServer,
) -> None:
    client = server.client()
    async with client.chat("tws-troubleshooter") as conn:
        assert conn.agent is not None and conn.agent["id"] == "tws-troubleshooter"
        await conn.ask("c1", MODEL_QUESTION)
        frames = [f async for f in conn.turn_frames("c1")]
    assert conn.closed
    final = frames[-1]
    # What streamed is what the final frame says: the facts written from the evidence, then the
    # model's explanation.
    assert final["type"] == "final" and ANSWER in final["content"]
    facts = final["content"].split(ANSWER)[0]
    assert "FACT_SALES_LOAD" in facts and "is running since" in facts
    assert "".join(f["content"] for f in frames if f["type"] == "token") == final["content"]
    assert [f["tool"] for f in frames if f["type"] == "tool_call"] == [
        e["tool"] for e in final["evidence"]
    ]
    with pytest.raises(ApiError) as exc:
        await client.chat("no-such-agent").connect()
    assert exc.value.status == 404
    client.close()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_memories_are_listed_and_searched(server: RunningServer) -> None:
    client = server.client()
    async with client.chat("tws-analyzer") as conn:
        await conn.ask("m1", "Which workstations are unlinked?")
        final = [f async for f in conn.turn_frames("m1")][-1]
    memory = client.memory(final["memory_id"])
    assert memory["metadata"]["question"] == "Which workstations are unlinked?"
    mine = client.memories(agent_id="tws-analyzer", limit=500)
    assert final["memory_id"] in {m["id"] for m in mine}
    found = client.memories("unlinked workstations", limit=3)
    assert found and "score" in found[0]
    client.close()
