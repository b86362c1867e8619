"""Chat helpers shared by the load, fault and crash tests: a scripted LM reply and turn collection.

The scripted LM (served by tests/llm/openai_stub.py on loopback) answers a chat question with a
sentence that repeats the question's ticket (``ticket s007t2``), so a test can tell whose answer
reached which socket. The question is about the demo night's long run, which no known issue
explains, so every turn asks the model (a known issue's steps are written by code, no LM call);
the auditor's judge (its system prompt asks for a ``verdict``) gets a valid verdict. ``LMScript``
lets a test switch the reply to stall or to garbage while the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
import zlib
from typing import Any

TICKET = re.compile(r"ticket ([a-z0-9]+)")
JOB = "FACT_SALES_LOAD"
VERDICT = {"verdict": "suspicious", "confidence": 0.6, "reason": "the rerun advice is not asked"}


def question(ticket: str, job: str = JOB) -> str:
    """A troubleshooting question carrying ``ticket`` (lower case: not taken for a job name)."""
    return f"Why has {job} not finished? ticket {ticket}"


def answer_for(ticket: str) -> str:
    """The scripted answer to the question with ``ticket``."""
    return (
        f"Cause: {JOB} waits for a lock on its target table (ticket {ticket}). Next steps: "
        "1. Ask the DBA which session holds the lock. 2. Let it finish or end it, then watch it."
    )


def is_judge(body: dict[str, Any]) -> bool:
    """Whether an LM request comes from the auditor's judge (its rubric asks for a verdict)."""
    return "verdict" in json.dumps(body.get("messages", [{}])[0])


def asked_ticket(body: dict[str, Any]) -> str | None:
    """The ticket of the question in a chat request (past cases quoted before it are skipped)."""
    user = str(body["messages"][-1]["content"])
    tail = user[user.rfind("Question:") :] if "Question:" in user else user
    found = TICKET.findall(tail)
    return found[-1] if found else None


class LMScript:
    """The stub LM's ``reply``: normal answers, or stall / garbage on demand (thread-safe)."""

    def __init__(self) -> None:
        self.mode = "normal"  # normal | stall | garbage | blank
        self.judge_mode = "normal"  # normal | garbage
        self.verdict: dict[str, Any] = dict(VERDICT)
        self.release = threading.Event()  # set to let stalled replies finish at teardown
        self.stall_s = 30.0
        self.delay_s = 0.0  # chat answers wait up to this long (spread by ticket), then stream
        self.judge_delay_s = 0.0  # each verdict waits this long

    def __call__(self, body: dict[str, Any]) -> str:
        if is_judge(body):
            if self.judge_delay_s:
                time.sleep(self.judge_delay_s)
            if self.judge_mode == "garbage":
                return "lorem ipsum }{ verdict?? maybe-ish ### <<not json>>"
            return json.dumps(self.verdict)
        if self.mode == "stall":
            self.release.wait(self.stall_s)
        elif self.mode == "garbage":
            return GARBAGE
        elif self.mode == "blank":
            return "   \n  "
        ticket = asked_ticket(body) or "none"
        if self.delay_s:
            time.sleep(self.delay_s * (zlib.crc32(ticket.encode()) % 100) / 100)
        return answer_for(ticket)


#: What a broken model or proxy might send: control bytes, half JSON, adapter markers, no sense.
GARBAGE = '\x00\x1b[31m}}{{ "verdict": [[ ## reason ## ]] \ufffd\ufffd %%% <|im_end|> \x7f ]]'


def new_ticket() -> str:
    """Return a fresh ticket to put in a question (the scripted LM repeats it in its answer)."""
    return uuid.uuid4().hex[:10]


async def open_chat(jp_ws_fetch: Any, agent: str = "tws-troubleshooter") -> Any:
    """Open a chat socket to ``agent`` on the in-process server and check its ``ready`` frame."""
    ws = await jp_ws_fetch("resync", "api", "chat", agent)
    hello = await read_frame(ws)
    assert hello["type"] == "ready" and hello["agent"]["id"] == agent, hello
    return ws


async def send_chat(ws: Any, turn_id: str, content: str) -> None:
    """Send one ``chat`` frame."""
    await ws.write_message(json.dumps({"type": "chat", "id": turn_id, "content": content}))


async def read_frame(ws: Any) -> dict[str, Any]:
    """Read one frame; a closed socket is a failure."""
    raw = await ws.read_message()
    assert raw is not None, "the server closed the chat socket"
    frame: dict[str, Any] = json.loads(raw)
    return frame


async def close(ws: Any, timeout: float = 5.0) -> None:
    """Close a chat socket and wait for the server's close (a loop about to end leaks it else)."""
    ws.close()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while await ws.read_message() is not None:
                pass


async def collect_turn(ws: Any, turn_id: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Read frames up to this turn's ``final`` or its ending ``error`` (other ids are skipped).

    ``tws_unavailable`` does not end a turn: a ``final`` follows it (the answer from what is known).
    """
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await read_frame(ws)
            if frame.get("id") != turn_id:
                continue
            frames.append(frame)
            if frame["type"] == "final":
                return frames
            if frame["type"] == "error" and frame["code"] != "tws_unavailable":
                return frames


async def ask(ws: Any, turn_id: str, content: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Send a chat frame and collect the turn's frames."""
    await send_chat(ws, turn_id, content)
    return await collect_turn(ws, turn_id, timeout)


def assert_answered_and_remembered(frames: list[dict[str, Any]], t: str) -> dict[str, Any]:
    """Check a turn of ticket ``t`` ended well: no error, every tool read TWS, the scripted
    explanation streamed whole after the facts written by code, and remembered; return its
    ``final``."""
    assert [f for f in frames if f["type"] == "error"] == [], frames
    final = frames[-1]
    assert final["type"] == "final" and final["memory_id"], frames
    assert tokens_of(frames) == final["content"]
    assert answer_for(t) in final["content"], final["content"]
    results = [f for f in frames if f["type"] == "tool_result"]
    assert results and all(r["ok"] for r in results), "every tool read TWS"
    return final


def tokens_of(frames: list[dict[str, Any]]) -> str:
    """The turn's streamed answer: its token frames joined."""
    return "".join(f["content"] for f in frames if f["type"] == "token")


async def memory_total(store: Any) -> int:
    """How many memories the store holds, all states."""
    return sum((await store.counts()).values())
