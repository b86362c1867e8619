"""SIGKILL of a real server while chat turns and an audit pass run, and during review decisions.

After each kill the server restarts on the same data directory and must show: every review batch
file parses, every memory is whole and in a known state, nothing a client was told is lost (a
``final`` with a memory id, a decision answered 200), and nothing is judged twice.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.crash.integrity import (
    all_memories,
    batches,
    chat_turns,
    connect,
    decided,
    judge_asks,
    post_json,
    restart,
    ticket_of,
)
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import (
    LMScript,
    answer_for,
    ask,
    close,
    question,
    send_chat,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.slow

#: The memory state a reviewer's action leaves.
STATE_OF = {"approve": "approved", "reject": "rejected"}


def tickets(n: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{run}x{i:03d}" for i in range(n)]


async def _chat_in_flight(
    server: ServerProcess, asked: list[str], acked: dict[str, str], stop: asyncio.Event
) -> None:
    """Keep ``asked`` turns in flight, three per socket, until ``stop``; record every final."""

    async def one_socket(group: list[str]) -> None:
        ws = await connect(server)
        try:
            for t in group:
                await send_chat(ws, t, question(t))
            while not stop.is_set():
                raw = await ws.read_message()
                if raw is None:
                    # The kill and ``stop`` happen in one step of the loop: a socket that closes
                    # while ``stop`` is still clear was dropped by a live server.
                    assert stop.is_set(), "the server closed a chat socket before it was killed"
                    break
                frame = json.loads(raw)
                assert frame["type"] != "error", f"a turn failed before the kill: {frame}"
                if frame["type"] == "final" and frame["memory_id"]:
                    acked[frame["id"]] = frame["memory_id"]
        finally:
            await close(ws)

    groups = [asked[i : i + 3] for i in range(0, len(asked), 3)]
    await asyncio.gather(*(one_socket(g) for g in groups))


async def _kill_during_chat_and_audit(
    server: ServerProcess, lm_stub: OpenAIStub, backlog: list[str], chat: list[str]
) -> tuple[dict[str, str], int, bool]:
    """Run an audit pass and chat turns at once; SIGKILL once both are well under way."""
    acked: dict[str, str] = {}
    stop = asyncio.Event()
    everything = set(backlog) | set(chat)

    def judged() -> int:
        return sum(judge_asks(lm_stub, everything).values())

    async with server.async_client(timeout=120) as http:
        audit = asyncio.create_task(http.post("/resync/api/audit/run", content=b""))
        chatting = asyncio.create_task(_chat_in_flight(server, chat, acked, stop))
        async with asyncio.timeout(60):
            while judged() < 10 or len(acked) < 3:
                if chatting.done():  # a socket failed before the kill: fail with its reason
                    chatting.result()
                await asyncio.sleep(0.01)
        server.kill()
        stop.set()
        results = await asyncio.gather(audit, chatting, return_exceptions=True)
    if isinstance(results[1], BaseException):  # a socket that misbehaved before the kill
        raise results[1]
    pass_finished = not isinstance(results[0], BaseException)
    return acked, judged(), pass_finished


def test_sigkill_during_chat_and_an_audit_pass_loses_nothing_and_judges_nothing_twice(
    server: ServerProcess, script: LMScript, lm_stub: OpenAIStub
) -> None:
    backlog = tickets(24)
    ids = asyncio.run(chat_turns(server, backlog))
    assert len(set(ids)) == len(backlog)
    chat = tickets(15)
    script.judge_delay_s = 0.15  # the pass takes seconds: the kill lands in the middle
    script.delay_s = 2.0  # answers arrive over 2 s: the kill finds turns in flight
    acked, judged, pass_finished = asyncio.run(
        _kill_during_chat_and_audit(server, lm_stub, backlog, chat)
    )
    assert not server.running and not pass_finished
    assert 3 <= len(acked) < len(chat) and 10 <= judged < len(backlog) + len(chat)
    batches(server.data_dir)  # every batch file parses, before any restart repairs anything

    script.judge_delay_s = script.delay_s = 0.0
    restart(server)
    memories = all_memories(server)
    # No answered turn lost; no turn stored twice.
    for t, memory_id in acked.items():
        assert memory_id in memories, f"turn {t} was answered with {memory_id}, then lost"
        # The model's answer for this ticket, after the facts the server writes by code.
        assert answer_for(t) in memories[memory_id].metadata.answer
    by_ticket: dict[str, list[str]] = {}
    for m in memories.values():
        by_ticket.setdefault(ticket_of(m), []).append(m.id)
    mine = {t: ms for t, ms in by_ticket.items() if t in set(backlog) | set(chat)}
    assert all(len(ms) == 1 for ms in mine.values()), "a turn stored twice"
    assert set(backlog) <= set(mine)

    # Judgements recorded before the kill are kept and not repeated; the rest are judged once.
    state_of = {t: memories[ms[0]].metadata.state for t, ms in mine.items()}
    judged_before = {t for t, state in state_of.items() if state != "new"}
    assert judged_before, "some judgements were recorded before the kill"
    asks_before = judge_asks(lm_stub, set(mine))
    run = post_json(server, "/resync/api/audit/run")
    asks_after = judge_asks(lm_stub, set(mine))
    for t in mine:
        extra = asks_after[t] - asks_before[t]
        assert extra == (0 if t in judged_before else 1), f"{t} ({state_of[t]}): {extra} asks"
    assert run["errors"] == 0
    memories = all_memories(server)
    assert {memories[ms[0]].metadata.state for ms in mine.values()} == {"flagged"}
    # Each flagged memory sits in exactly one batch (orphans of the kill were filed once).
    filed = [i.memory_id for b in batches(server.data_dir) for i in b.items]
    assert len(filed) == len(set(filed))
    assert {ms[0] for ms in mine.values()} <= set(filed)

    # The restarted server serves chat at once.
    async def again() -> list[dict[str, Any]]:
        ws = await connect(server)
        try:
            t = tickets(1)[0]
            return await ask(ws, t, question(t))
        finally:
            await close(ws)

    assert asyncio.run(again())[-1]["memory_id"]


def test_sigkill_during_review_decisions_loses_no_acknowledged_decision(
    server: ServerProcess, script: LMScript
) -> None:
    asked = tickets(30)
    ids = asyncio.run(chat_turns(server, asked))
    post_json(server, "/resync/api/audit/run")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = {m.id: m.metadata.state for m in all_memories(server).values()}
        if {states[i] for i in ids} == {"flagged"}:
            break
        time.sleep(0.5)  # the chat path's background audit may still hold some
        post_json(server, "/resync/api/audit/run")
    pending = {
        i.memory_id for b in batches(server.data_dir) for i in b.items if i.status == "pending"
    }
    assert set(ids) <= pending
    actions = {m: ("approve" if n % 2 else "reject") for n, m in enumerate(ids)}
    acked = asyncio.run(_decide_until_kill(server, actions, kill_after=10))
    assert not server.running and 10 <= len(acked) < len(ids)

    # On disk, before any restart: every acknowledged decision, whole.
    recorded = decided(server.data_dir)
    for memory_id, action in acked.items():
        item = recorded.get(memory_id)
        assert item is not None, f"decision on {memory_id} was acknowledged, then lost"
        assert item.status == STATE_OF[action] and item.decided_by and item.decided_at

    restart(server)  # reconciles recorded decisions before the store is announced open
    memories = all_memories(server)
    for memory_id, item in decided(server.data_dir).items():
        state = memories[memory_id].metadata.state
        assert state == item.status, f"{memory_id}: decided {item.status}, memory says {state}"
        assert memories[memory_id].metadata.review is not None
    for memory_id, action in acked.items():
        assert memories[memory_id].metadata.state == STATE_OF[action]
    undecided = set(ids) - set(decided(server.data_dir))
    assert all(memories[m].metadata.state == "flagged" for m in undecided)


async def _decide_until_kill(
    server: ServerProcess, actions: dict[str, str], kill_after: int
) -> dict[str, str]:
    acked: dict[str, str] = {}
    limits = httpx.Limits(max_connections=len(actions))
    async with server.async_client(timeout=30, limits=limits) as http:

        async def decide(memory_id: str, action: str) -> None:
            body = {"memory_id": memory_id, "action": action, "comment": "crash test"}
            try:
                r = await http.post("/resync/api/audit/review", json=body)
            except httpx.TransportError:
                return
            if r.status_code == 200:
                acked[memory_id] = action
                if len(acked) >= kill_after and server.running:
                    server.kill()

        await asyncio.gather(*(decide(m, a) for m, a in actions.items()))
    return acked
