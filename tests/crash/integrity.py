"""What must hold after a SIGKILL: batch files parse, memories whole, decisions kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from resync_ext.audit.review_queue import Batch
from resync_ext.memory.models import STATES, Memory
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import TICKET, close, is_judge, read_frame, send_chat
from tests.server_process import ServerProcess


def batches(data_dir: Path) -> list[Batch]:
    """Every review batch file, open and archived; each must parse (none torn by the kill)."""
    audit = data_dir / "audit"
    out = []
    for path in sorted([*audit.glob("flags/audit-*.json"), *audit.glob("archive/audit-*.json")]):
        out.append(Batch.model_validate_json(path.read_bytes()))
    return out


def decided(data_dir: Path) -> dict[str, Any]:
    """Every decided review item by memory id."""
    return {i.memory_id: i for b in batches(data_dir) for i in b.items if i.status != "pending"}


def all_memories(server: ServerProcess) -> dict[str, Memory]:
    """Every memory through the API, each read back by id: whole, in a known state."""
    found: dict[str, Memory] = {}
    with server.client() as http:
        offset = 0
        while True:
            r = http.get("/resync/api/memories", params={"limit": 500, "offset": offset})
            assert r.status_code == 200, f"GET /resync/api/memories: {r.status_code} {r.text[:200]}"
            page = r.json()["memories"]
            if not page:
                break
            offset += len(page)
            for raw in page:
                memory = Memory.model_validate(raw)
                one = http.get(f"/resync/api/memories/{memory.id}")
                assert one.status_code == 200, one.text
                assert Memory.model_validate(one.json()) == memory
                assert memory.metadata.state in STATES
                assert memory.metadata.question and memory.metadata.answer
                found[memory.id] = memory
    return found


def ticket_of(memory: Memory) -> str:
    """The test ticket a memory's question carries."""
    found = TICKET.findall(memory.metadata.question)
    return found[-1] if found else ""


def judge_asks(lm_stub: OpenAIStub, tickets: set[str]) -> dict[str, int]:
    """How many times the judge was asked about each ticket."""
    counts = dict.fromkeys(tickets, 0)
    for body in lm_stub.bodies():
        if is_judge(body):
            for t in set(TICKET.findall(json.dumps(body["messages"][1:]))) & tickets:
                counts[t] += 1
    return counts


def restart(server: ServerProcess) -> None:
    """Start the killed server again on the same data and wait for the store (and reconcile)."""
    assert not server.running
    server.start()
    server.wait_memory_open()


async def connect(server: ServerProcess, agent: str = "tws-troubleshooter") -> Any:
    """A chat socket on the subprocess server, past its ``ready`` frame."""
    req = HTTPRequest(f"{server.ws_url}/resync/api/chat/{agent}", headers=server.headers)
    ws = await websocket_connect(req)
    assert (await read_frame(ws))["type"] == "ready"
    return ws


async def chat_turns(server: ServerProcess, tickets: list[str], per_socket: int = 3) -> list[str]:
    """Ask one question per ticket (``per_socket`` at once on each socket); return memory ids."""
    from tests.load.chat_client import question

    async def one_socket(group: list[str]) -> list[str]:
        ws = await connect(server)
        try:
            for t in group:
                await send_chat(ws, t, question(t))
            ids: list[str] = []
            while len(ids) < len(group):
                frame = await read_frame(ws)
                assert frame["type"] != "error", frame
                if frame["type"] == "final":
                    assert frame["memory_id"], frame
                    ids.append(frame["memory_id"])
            return ids
        finally:
            await close(ws)

    groups = [tickets[i : i + per_socket] for i in range(0, len(tickets), per_socket)]
    async with asyncio.timeout(120):
        found = await asyncio.gather(*(one_socket(g) for g in groups))
    return [m for ids in found for m in ids]


def post_json(server: ServerProcess, path: str, body: Any = None) -> Any:
    """POST and return the JSON answer (200 expected)."""
    with server.client(timeout=120) as http:
        r = http.post(path, content=b"" if body is None else json.dumps(body).encode())
        assert r.status_code == 200, r.text
        return r.json()


def http_error_types() -> tuple[type[BaseException], ...]:
    """What a request in flight sees when the server is killed."""
    return (httpx.TransportError, OSError)
