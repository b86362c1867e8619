"""100 chat sockets at once, 3 turns in flight on each: every turn ends, no frame goes astray."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

import pytest

from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import (
    answer_for,
    is_judge,
    memory_total,
    open_chat,
    question,
    read_frame,
    send_chat,
    tokens_of,
)
from tests.support import wait_memory

pytestmark = pytest.mark.slow

SOCKETS = 100
TURNS = 3  # sent at once on each socket: frames of three turns interleave on one socket
TIMEOUT_S = 150.0


async def _drive(ws: Any, n: int) -> dict[str, list[dict[str, Any]]]:
    """Send this socket's turns at once; return every frame it receives, by turn id."""
    ids = [f"s{n:03d}t{t}" for t in range(TURNS)]
    for turn_id in ids:
        await send_chat(ws, turn_id, question(turn_id))
    frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
    finals = 0
    while finals < TURNS:
        frame = await read_frame(ws)
        if frame["type"] == "config_update":
            continue
        # Misrouting shows here: a frame of another socket's turn, or one without a turn id.
        assert frame.get("id") in ids, f"socket {n} got a frame not of its turns: {frame}"
        assert frame["type"] != "error", f"turn {frame['id']} failed: {frame}"
        frames[frame["id"]].append(frame)
        finals += frame["type"] == "final"
    return frames


async def test_100_sockets_3_turns_each_every_turn_final_and_frames_routed(
    jp_ws_fetch: Any, resync_services: Any, lm_stub: OpenAIStub
) -> None:
    store = await wait_memory(resync_services)
    before = await memory_total(store)
    sockets = await asyncio.gather(*(open_chat(jp_ws_fetch) for _ in range(SOCKETS)))
    async with asyncio.timeout(TIMEOUT_S):
        results = await asyncio.gather(*(_drive(ws, n) for n, ws in enumerate(sockets)))
    for ws in sockets:
        ws.close()

    memory_ids: list[str] = []
    for n, by_turn in enumerate(results):
        assert len(by_turn) == TURNS, f"socket {n} saw frames of {sorted(by_turn)}"
        for turn_id, frames in by_turn.items():
            kinds = Counter(f["type"] for f in frames)
            assert kinds["final"] == 1 and frames[-1]["type"] == "final", (turn_id, kinds)
            final = frames[-1]
            # The answer streamed to this socket is the one asked on it, whole and in order.
            assert tokens_of(frames) == final["content"], turn_id
            assert answer_for(turn_id) in final["content"], turn_id
            assert kinds["token"] > 5, "the answer streamed in pieces"
            calls = [f["call_id"] for f in frames if f["type"] == "tool_call"]
            results_ = [f["call_id"] for f in frames if f["type"] == "tool_result"]
            assert calls and calls == results_, f"{turn_id}: every tool call gets its result"
            assert [e["tool"] for e in final["evidence"]] == [
                f["tool"] for f in frames if f["type"] == "tool_call"
            ]
            assert final["memory_id"], f"{turn_id} was not remembered"
            memory_ids.append(final["memory_id"])

    assert len(set(memory_ids)) == SOCKETS * TURNS, "each turn stored its own memory"
    assert await memory_total(store) - before == SOCKETS * TURNS
    # Each stored memory carries its own question: no answer landed in another turn's record.
    for memory_id in memory_ids[::37]:
        memory = await store.get(memory_id)
        ticket = memory.metadata.question.rsplit(" ", 1)[-1]
        assert memory.metadata.answer.endswith(answer_for(ticket))
    asked = [b for b in lm_stub.bodies() if not is_judge(b)]
    assert len(asked) >= SOCKETS * TURNS, "every turn reached the LM (no cache short cut)"
    timings = list(resync_services.turns.timings)[-SOCKETS * TURNS :]
    assert all(t["total_ms"] > 0 and "store_ms" in t for t in timings)
