"""The local engine's contract with DSPy, llama.cpp replaced at its edge by a scripted model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import dspy
import pytest

from resync_ext.llm.local_engine import AsyncLocalEngine, LocalEngine


class ScriptedLlama:
    """Stands in for llama_cpp.Llama: yields one chunk per word, records the calls."""

    def __init__(self, text: str, delay: float = 0.0) -> None:
        self.text = text
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.n_tokens = 0
        self.produced = 0
        self.active = 0
        self.max_active = 0

    def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            words = self.text.split(" ")
            for i, word in enumerate(words):
                time.sleep(self.delay)
                self.produced += 1
                self.n_tokens = 50 + i
                piece = word if i == 0 else " " + word
                yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
            yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        finally:
            self.active -= 1

    def close(self) -> None:
        pass


def _lm(fake: ScriptedLlama) -> Any:
    engine = LocalEngine(Path("unused.gguf"))
    engine._llama = fake  # the model is "loaded": no file, no llama_cpp import
    return dspy.LM(
        "local/test",
        engine=engine,
        async_engine=AsyncLocalEngine(engine),
        cache=False,
        temperature=0.0,
        max_tokens=64,
    )


class Verdict(dspy.Signature):
    """Judge."""

    question: str = dspy.InputField()
    verdict: Literal["ok", "suspicious", "incorrect"] = dspy.OutputField()
    confidence: float = dspy.OutputField()
    reason: str = dspy.OutputField()


@pytest.mark.asyncio
async def test_json_schema_reaches_llama_as_a_grammar_request() -> None:
    fake = ScriptedLlama('{"verdict": "ok", "confidence": 0.7, "reason": "fine"}')
    with dspy.context(lm=_lm(fake), adapter=dspy.JSONAdapter()):
        out = await dspy.Predict(Verdict).acall(question="q")
    assert (out.verdict, out.confidence, out.reason) == ("ok", 0.7, "fine")
    fmt = fake.calls[-1]["response_format"]
    assert fmt["type"] == "json_object"
    assert fmt["schema"]["properties"]["verdict"]["enum"] == ["ok", "suspicious", "incorrect"]
    assert fake.calls[-1]["temperature"] == 0.0 and fake.calls[-1]["stream"] is True


@pytest.mark.asyncio
async def test_stream_yields_one_delta_per_token() -> None:
    from dspy.lm15 import Message, Request

    fake = ScriptedLlama("one two three four")
    engine = AsyncLocalEngine(LocalEngine(Path("unused.gguf")))
    engine.sync._llama = fake
    events = [
        e async for e in engine.stream(Request(model="local/test", messages=(Message.user("hi"),)))
    ]
    deltas = [e.delta.text for e in events if e.type == "delta"]
    assert deltas == ["one", " two", " three", " four"]
    assert events[0].type == "start" and events[-1].type == "end"
    assert events[-1].usage.output_tokens == 4


@pytest.mark.asyncio
async def test_calls_are_serialised_and_cancellation_stops_generation() -> None:
    from dspy.lm15 import Message, Request

    fake = ScriptedLlama(" ".join(["w"] * 200), delay=0.01)
    engine = AsyncLocalEngine(LocalEngine(Path("unused.gguf")))
    engine.sync._llama = fake
    request = Request(model="local/test", messages=(Message.user("hi"),))

    async def consume(stop_after: int | None) -> int:
        n = 0
        async for e in engine.stream(request):
            n += e.type == "delta"
            if stop_after is not None and n >= stop_after:
                break
        return n

    loop_alive = asyncio.create_task(asyncio.sleep(0.05))
    results = await asyncio.gather(consume(5), consume(None))
    assert loop_alive.done()  # generation ran off the event loop
    assert results == [5, 200]
    assert fake.max_active == 1  # the model never ran two generations at once
    assert fake.produced < 200 + 20  # the abandoned stream stopped within a few tokens
