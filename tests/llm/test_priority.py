"""Interactive turns first: the local engine's priority gate, llama.cpp replaced at its edge by a
scripted model that takes a fixed time per token (tests/llm/test_local_engine.py's)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import dspy
import pytest

from resync_ext.llm.local_engine import AsyncLocalEngine, LocalEngine
from resync_ext.llm.priority import (
    BackgroundJudge,
    ChatActivity,
    PriorityGate,
    background,
    lm_priority,
)
from tests.llm.test_local_engine import ScriptedLlama

TOKEN_S = 0.02
JUDGE_WORDS = 100  # a judge call of about 2 s


class Recorder(ScriptedLlama):
    """The scripted model, remembering when each call started and ended generating."""

    def __init__(self, words: int) -> None:
        super().__init__(" ".join(f"w{i}" for i in range(words)), delay=TOKEN_S)
        self.spans: list[tuple[str, float, float]] = []

    def create_chat_completion(self, **kwargs: Any) -> Any:
        start = time.monotonic()
        label = str(kwargs["messages"][-1]["content"])[:12]
        try:
            yield from super().create_chat_completion(**kwargs)
        finally:
            self.spans.append((label, start, time.monotonic()))


def _engine(fake: ScriptedLlama, gate: PriorityGate) -> LocalEngine:
    engine = LocalEngine(Path("unused.gguf"), gate=gate)
    engine._llama = fake
    return engine


def _lm(engine: LocalEngine) -> Any:
    return dspy.LM(
        "local/test",
        engine=engine,
        async_engine=AsyncLocalEngine(engine),
        cache=False,
        max_tokens=256,
    )


async def _call(lm: Any, text: str) -> tuple[str, float, float]:
    t0 = time.monotonic()
    out = await lm.acall(text)
    return str(out[0]), t0, time.monotonic()


@pytest.mark.asyncio
async def test_a_chat_call_takes_the_model_from_a_running_judge_call_which_still_finishes() -> None:
    activity = ChatActivity()
    gate = PriorityGate(activity, defer_s=0.0, max_defer_s=60.0)
    fake = Recorder(JUDGE_WORDS)
    lm = _lm(_engine(fake, gate))

    async def judge_call() -> tuple[str, float, float]:
        with background():
            return await _call(lm, "judge this turn")

    judge = asyncio.create_task(judge_call())
    await asyncio.sleep(0.4)  # the judge is generating
    assert gate.holder == "background"
    chat_text, asked, answered = await _call(lm, "chat question")
    judge_text, _, judge_done = await judge
    first_chat_token = next(s for label, s, _ in fake.spans if label.startswith("chat"))
    # The chat call waited about one token for the model, not the judge's remaining ~1.6 s.
    assert first_chat_token - asked < 0.3, first_chat_token - asked
    assert gate.preemptions >= 1
    # The judge call was run again after the chat call and returned its whole text.
    assert judge_text == fake.text and chat_text == fake.text
    assert judge_done > answered
    assert fake.max_active == 1, "never two generations at once"


@pytest.mark.asyncio
async def test_background_calls_wait_while_a_chat_turn_runs_and_for_the_quiet_window() -> None:
    activity = ChatActivity()
    gate = PriorityGate(activity, defer_s=0.5, max_defer_s=60.0)
    lm = _lm(_engine(Recorder(3), gate))
    turn_over = threading.Event()

    def chat_turn() -> None:
        with activity.turn():
            turn_over.wait(5)

    turn = asyncio.get_running_loop().run_in_executor(None, chat_turn)
    await asyncio.sleep(0.05)
    with background():
        judge = asyncio.create_task(_call(lm, "judge"))
    await asyncio.sleep(0.5)
    assert not judge.done(), "no background call while a chat turn runs"
    ended = time.monotonic()
    turn_over.set()
    await turn
    _, _, done = await judge
    # Held back for the quiet window after the turn, then served.
    assert done - ended >= 0.5


@pytest.mark.asyncio
async def test_an_audit_pass_finishes_while_chat_turns_keep_coming() -> None:
    # Chat turns back to back, each within the quiet window of the last: without a bound on the
    # deferral the judge would wait for ever. After max_defer_s it runs anyway, between turns.
    activity = ChatActivity()
    gate = PriorityGate(activity, defer_s=5.0, max_defer_s=0.6)
    fake = Recorder(5)
    lm = _lm(_engine(fake, gate))
    stop = asyncio.Event()

    async def chatter() -> int:
        n = 0
        while not stop.is_set():
            with activity.turn():
                await _call(lm, f"chat {n}")
            n += 1
        return n

    chats = asyncio.create_task(chatter())
    judge = BackgroundJudge(_judge_on(lm))
    verdicts = await asyncio.wait_for(
        asyncio.gather(*(judge(question=f"q{i}", answer="a", evidence=[]) for i in range(3))), 10
    )
    stop.set()
    assert await chats > 3, "chat went on meanwhile"
    assert verdicts == ["background"] * 3


def _judge_on(lm: Any) -> Any:
    async def judge(*, question: str, answer: str, evidence: list[Any]) -> str:
        await _call(lm, f"judge {question}")
        return lm_priority.get()

    return judge


@pytest.mark.asyncio
async def test_a_cancelled_background_call_stops_waiting_at_once() -> None:
    # A server stopping cancels the auditor: its call must not sit out the deferral window.
    activity = ChatActivity()
    gate = PriorityGate(activity, defer_s=30.0, max_defer_s=600.0)
    lm = _lm(_engine(Recorder(3), gate))
    with activity.turn():
        pass  # a chat turn just ended: background calls are deferred for 30 s
    with background():
        waiting = asyncio.create_task(_call(lm, "judge"))
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert time.monotonic() - t0 < 1.0
    # Its thread is free again: the next background call runs once the window is over.
    gate.defer_s = 0.0
    with background():
        text, _, _ = await asyncio.wait_for(_call(lm, "judge again"), 5)
    assert text == "w0 w1 w2"


@pytest.mark.asyncio
async def test_lm_calls_waiting_for_the_model_leave_the_default_thread_pool_free() -> None:
    # Twenty turns' calls queue for the one model: on the loop's default pool (6 threads on two
    # cores) they would hold every thread, and every asyncio.to_thread endpoint would stall.
    gate = PriorityGate(ChatActivity(), defer_s=0.0)
    fake = Recorder(10)
    lm = _lm(_engine(fake, gate))
    calls = [asyncio.create_task(_call(lm, f"chat {n}")) for n in range(20)]
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    assert await asyncio.wait_for(asyncio.to_thread(lambda: "served"), 2) == "served"
    assert time.monotonic() - t0 < 0.5
    assert not all(c.done() for c in calls), "the model was still busy meanwhile"
    await asyncio.gather(*calls)
    assert fake.max_active == 1


class ReadsItsPrompt(Recorder):
    """The scripted model reading its prompt as llama.cpp does: ``self.eval`` over the prompt's
    tokens before the first one comes out, ~5 ms a token (a judge's prompt: about 2 s)."""

    PROMPT_TOKEN_S = 0.005

    def eval(self, tokens: Any) -> None:
        time.sleep(len(list(tokens)) * self.PROMPT_TOKEN_S)

    def create_chat_completion(self, **kwargs: Any) -> Any:
        prompt = str(kwargs["messages"][-1]["content"])
        self.eval(range(len(prompt) // 4))
        yield from super().create_chat_completion(**kwargs)


@pytest.mark.asyncio
async def test_a_chat_call_does_not_wait_for_a_judge_prompt_being_read() -> None:
    gate = PriorityGate(ChatActivity(), defer_s=0.0, max_defer_s=60.0)
    fake = ReadsItsPrompt(5)
    engine = _engine(fake, gate)
    lm = _lm(engine)
    judge_prompt = "judge " + "the job abended with return code 12; " * 45  # ~400 tokens

    async def judging() -> tuple[str, float, float]:
        with background():
            return await _call(lm, judge_prompt)

    judge = asyncio.create_task(judging())
    while gate.holder != "background":
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # a quarter into reading the judge's prompt
    asked = time.monotonic()
    await _call(lm, "chat question")
    answered_in = time.monotonic() - asked
    waited = gate.chat_waits[-1]
    text, _, _ = await judge
    assert waited < 0.6, waited  # a piece of the prompt (48 tokens, ~0.25 s), not the rest
    assert answered_in < 1.0, answered_in
    assert text == fake.text and gate.preemptions >= 1
    assert "eval" not in vars(fake), "the model's own eval is back after the call"
