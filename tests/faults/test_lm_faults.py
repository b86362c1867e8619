"""LM faults through the loopback OpenAI-compatible stub: stalls, errors, garbage.

A turn whose LM stalls past ``lm_timeout`` or fails ends with an error frame, stores nothing, and
the socket serves the next turn. Garbage: a completion with no text left once trimmed is an
``lm_error`` (there is no answer to show); any other text is the model's answer, shown verbatim
and remembered as ``new`` for the auditor to judge (the workbench cannot tell nonsense from an
answer; the audit loop exists for that). A judge that answers garbage or fails leaves memories
``new`` and counts the errors in the pass summary.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from resync_ext.redact import mask_secrets
from tests.faults.conftest import LM_TIMEOUT_S
from tests.llm.openai_stub import OpenAIStub
from tests.load.chat_client import (
    JOB,
    LMScript,
    answer_for,
    ask,
    assert_answered_and_remembered,
    is_judge,
    memory_total,
    new_ticket,
    open_chat,
    question,
    tokens_of,
)
from tests.support import wait_memory

pytestmark = pytest.mark.slow


async def failed_turn(ws: Any, code: str, timeout: float) -> tuple[list[dict[str, Any]], float]:
    t = new_ticket()
    t0 = time.perf_counter()
    frames = await ask(ws, t, question(t), timeout=timeout)
    elapsed = time.perf_counter() - t0
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == code, frames[-1]
    assert frames[-1]["message"] and "Traceback" not in frames[-1]["message"]
    assert not [f for f in frames if f["type"] == "final"]
    return frames, elapsed


async def still_serves(ws: Any) -> None:
    t = new_ticket()
    assert_answered_and_remembered(await ask(ws, t, question(t)), t)


async def test_a_stalled_lm_times_out_with_an_error_frame_and_the_socket_lives(
    jp_ws_fetch: Any, resync_services: Any, script: LMScript
) -> None:
    store = await wait_memory(resync_services)
    before = await memory_total(store)
    ws = await open_chat(jp_ws_fetch)
    script.mode = "stall"
    _, elapsed = await failed_turn(ws, "lm_timeout", timeout=60)
    # Honoured: the LM call gives up after lm_timeout (LiteLLM retries a timeout twice).
    assert LM_TIMEOUT_S <= elapsed < 3 * LM_TIMEOUT_S + 10, elapsed
    script.mode = "normal"
    script.release.set()
    await still_serves(ws)
    assert await memory_total(store) == before + 1, "only the good turn was remembered"
    ws.close()


async def test_an_lm_error_is_an_lm_error_frame_and_nothing_is_stored(
    jp_ws_fetch: Any, resync_services: Any, lm_stub: OpenAIStub
) -> None:
    store = await wait_memory(resync_services)
    before = await memory_total(store)
    ws = await open_chat(jp_ws_fetch)
    lm_stub.status = 503
    frames, _ = await failed_turn(ws, "lm_error", timeout=60)
    assert "stub failure" in frames[-1]["message"] or "503" in frames[-1]["message"]
    assert await memory_total(store) == before
    lm_stub.status = None
    await still_serves(ws)
    ws.close()


async def test_garbage_from_the_lm(
    jp_ws_fetch: Any, resync_services: Any, script: LMScript
) -> None:
    store = await wait_memory(resync_services)
    before = await memory_total(store)
    ws = await open_chat(jp_ws_fetch)
    # Nothing but whitespace: no answer to show or remember.
    script.mode = "blank"
    await failed_turn(ws, "lm_error", timeout=60)
    assert await memory_total(store) == before
    # Nonsense text: the grounding guard asks again, then removes what the evidence does not
    # support; the facts written by code still answer, streamed, remembered as new.
    script.mode = "garbage"
    t = new_ticket()
    frames = await ask(ws, t, question(t))
    final = frames[-1]
    assert final["type"] == "final" and final["memory_id"], frames
    assert tokens_of(frames) == final["content"]
    assert final["content"].startswith(f"{JOB} (job stream DWH_NIGHTLY")
    assert "im_end" not in final["content"] and "verdict" not in final["content"]
    assert final["content"].endswith("were removed; the facts above are what the plan shows.)")
    assert final["grounding"]["regenerated"] == 1 and final["grounding"]["dropped"] >= 1
    memory = await store.get(final["memory_id"])
    # Stored as shown, through the store's masking (which also neutralises control bytes).
    assert memory.metadata.state == "new"
    assert memory.metadata.answer == mask_secrets(final["content"])
    script.mode = "normal"
    await still_serves(ws)
    ws.close()


async def _new_memories(store: Any, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        t = new_ticket()
        # The evidence states what the answer says, so the judge's deterministic checks find
        # nothing and the verdict rests on the (broken) LM judge.
        m = await store.add_turn(
            agent_id="tws-troubleshooter",
            question=question(t),
            answer=answer_for(t),
            evidence=[
                {
                    "tool": "get_job_log",
                    "args": {"job": JOB},
                    "summary": answer_for(t),
                }
            ],
        )
        ids.append(m.id)
    return ids


def _judge_asks(lm_stub: OpenAIStub) -> int:
    return len([b for b in lm_stub.bodies() if is_judge(b)])


async def _run_pass(jp_fetch: Any) -> dict[str, Any]:
    body = (await jp_fetch("resync", "api", "audit", "run", method="POST", body=b"")).body
    run: dict[str, Any] = json.loads(body)
    return run


@pytest.mark.parametrize("fault", ["garbage", "error"])
async def test_a_broken_judge_leaves_memories_new_and_counts_errors(
    jp_fetch: Any,
    resync_services: Any,
    script: LMScript,
    lm_stub: OpenAIStub,
    fault: str,
) -> None:
    store = await wait_memory(resync_services)
    ids = await _new_memories(store, 3)
    if fault == "garbage":
        script.judge_mode = "garbage"
    else:
        lm_stub.status = 503
    asked = _judge_asks(lm_stub)
    run = await _run_pass(jp_fetch)
    assert (run["audited"], run["errors"], run["batch"]) == (0, 3, None), run
    assert [(await store.get(i)).metadata.state for i in ids] == ["new"] * 3
    assert _judge_asks(lm_stub) >= asked + 3, "the judge was asked about each memory"
    metrics = json.loads((await jp_fetch("resync", "api", "audit", "metrics")).body)
    assert metrics["verdicts"].get("errors") == 3 and metrics["by_state"]["new"] >= 3
    if fault == "error":
        # The judge's LM recovers: the next pass judges the same memories, once each.
        lm_stub.status = None
        run = await _run_pass(jp_fetch)
        assert (run["audited"], run["flagged"], run["errors"]) == (3, 3, 0), run
        assert {(await store.get(i)).metadata.state for i in ids} == {"flagged"}


async def test_after_judge_garbage_the_retry_and_the_next_pass_ask_the_lm_again(
    jp_fetch: Any, resync_services: Any, script: LMScript, lm_stub: OpenAIStub
) -> None:
    store = await wait_memory(resync_services)
    ids = await _new_memories(store, 2)
    script.judge_mode = "garbage"
    asked = _judge_asks(lm_stub)
    run = await _run_pass(jp_fetch)
    assert run["errors"] == 2
    retried = _judge_asks(lm_stub) - asked
    script.judge_mode = "normal"
    run = await _run_pass(jp_fetch)
    assert (run["audited"], run["errors"]) == (2, 0), run
    assert {(await store.get(i)).metadata.state for i in ids} == {"flagged"}
    assert retried == 4, "an unparseable verdict is retried once, by asking the judge again"
