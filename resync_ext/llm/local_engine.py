"""A DSPy 3.4 engine that runs a GGUF model in-process with llama-cpp-python.

``dspy.LM("local/<name>", engine=LocalEngine(...), async_engine=AsyncLocalEngine(...))`` hands
this engine canonical ``dspy.lm15.Request`` objects and expects ``Response`` objects or stream
events back. The model is not thread-safe: a priority gate (resync_ext.llm.priority) lets one call
at a time use it, chat calls before background (audit) ones, and a lock guards loading and
closing. The async engine runs generation on the LM's own worker threads (:data:`LM_EXECUTOR`,
not the loop's default pool, which other endpoints need while calls wait for the model) and hands
small deltas (one per token) to the event loop, so DSPy's stream listeners see the answer grow.
A JSON schema in ``response_format`` becomes a llama.cpp grammar, so structured outputs (the
judge's verdict) always parse. llama.cpp keeps the
evaluated prompt in its KV cache and a RAM cache keeps a few more states, so the fixed instruction
part of each program is read once, not on every call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from resync_ext.llm.errors import LocalModelUnavailable
from resync_ext.llm.priority import Abandoned, Priority, PriorityGate, lm_priority

_log = logging.getLogger(__name__)
RAM_CACHE_BYTES = 512 * 1024 * 1024


REPEAT_PENALTY = 1.1
#: The threads chat LM calls run (and wait for the model) on: a call waiting for the gate holds
#: one, so there are enough for the server's cap on turns (a few calls each).
LM_EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resync-lm")
#: Background calls (the judge) wait and run on a thread of their own: held back for minutes,
#: they would otherwise take every chat thread (found by bench_chat_conversation: a session of
#: 22 turns with the per-turn audit stalled at the ninth). One at a time, as the model runs them.
BACKGROUND_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resync-lm-background")


class _Preempted(Exception):
    """A background generation stopped because a chat call wants the model."""


def llama_cpp_installed() -> bool:
    """Tell whether llama-cpp-python can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def _messages(request: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    system = request.system
    if system:
        text = (
            system if isinstance(system, str) else "".join(getattr(p, "text", "") for p in system)
        )
        out.append({"role": "system", "content": text})
    for m in request.messages:
        out.append({"role": m.role, "content": m.text or ""})
    return out


def _response_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    # llama-cpp-python turns {"type": "json_object", "schema": ...} into a grammar; DSPy sends the
    # OpenAI shape {"type": "json_schema", "schema"|"json_schema": ...}.
    if not fmt:
        return None
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
    if fmt.get("type") in {"json_schema", "json_object"}:
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    return None


class LocalEngine:
    """Run chat completions on a local GGUF model; the sync half of the DSPy engine pair."""

    supports_response_schema = True
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"response_format", "temperature", "max_tokens", "stop"})

    def __init__(
        self,
        model_path: Path | Callable[[], Path],
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        reuse_prefix: bool = True,
        gate: PriorityGate | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.log = log or _log
        # Off only to measure what prefix reuse saves (benchmarks): every call re-reads it all.
        self.reuse_prefix = reuse_prefix
        self.lock = threading.Lock()
        self.gate = gate or PriorityGate()
        self._llama: Any = None
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        """Tell whether the model is in memory."""
        return self._llama is not None

    def load(self) -> Any:
        """Load the model if needed (blocking: seconds) and return the llama_cpp.Llama."""
        with self.lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._llama is not None:
            return self._llama
        try:
            import llama_cpp
        except ImportError as e:
            raise LocalModelUnavailable(
                "lm_model='local' needs llama-cpp-python: install the [local] extra "
                "(make install builds it), or set lm_model to a provider"
            ) from e
        path = self._model_path() if callable(self._model_path) else self._model_path
        t0 = time.perf_counter()
        llama = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=512,
            verbose=False,
        )
        if self.reuse_prefix:
            llama.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=RAM_CACHE_BYTES))
        self.load_seconds = time.perf_counter() - t0
        self.log.info("Resync LM: loaded %s in %.1fs", Path(path).name, self.load_seconds)
        self._llama = llama
        return llama

    def _kwargs(self, request: Any) -> dict[str, Any]:
        cfg = request.config
        kwargs: dict[str, Any] = {
            "messages": _messages(request),
            "temperature": 0.0 if cfg.temperature is None else cfg.temperature,
            "max_tokens": cfg.max_tokens or 512,
            # A small greedy model loops ("...which is held by X, which is held by X, ...");
            # llama.cpp's repetition penalty over its last 64 tokens breaks most such loops, and
            # the grounding guard trims what is left (resync_ext.agents.grounding).
            "repeat_penalty": REPEAT_PENALTY,
        }
        if cfg.stop:
            kwargs["stop"] = list(cfg.stop)
        if (fmt := _response_format(cfg.response_format)) is not None:
            kwargs["response_format"] = fmt
        if cfg.seed is not None:
            kwargs["seed"] = cfg.seed
        return kwargs

    def iter_text(
        self,
        request: Any,
        cancelled: threading.Event | None = None,
        priority: Priority | None = None,
    ) -> Iterator[tuple[str, str | None, int]]:
        """Yield (text delta, finish reason, prompt tokens) per token, holding the model.

        ``priority`` defaults to the context's (:data:`lm_priority`). A background call's text
        comes all at once at its end: it may be stopped for a chat call and run again.
        """
        from dspy.clients.engines.base import validate_request

        validate_request(request)
        if (priority or lm_priority.get()) == "background":
            yield from self._background(request, cancelled)
            return
        with self.gate.hold("chat"):
            yield from self._generate(request, cancelled)

    def _background(
        self, request: Any, cancelled: threading.Event | None
    ) -> Iterator[tuple[str, str | None, int]]:
        since = time.monotonic()
        gate = self.gate

        def yield_to_chat() -> bool:
            return gate.chat_waiting and not gate.overdue(since)

        while True:
            try:
                with gate.hold("background", since, cancelled):
                    pieces = list(self._generate(request, cancelled, yield_to_chat))
            except _Preempted:
                gate.preemptions += 1
                self.log.debug("Resync LM: a background call yielded the model to chat")
                continue
            except Abandoned:
                return  # its caller is gone: nobody reads the answer
            yield from pieces
            return

    def _generate(
        self,
        request: Any,
        cancelled: threading.Event | None,
        preempt: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[str, str | None, int]]:
        with self.lock:
            llama = self._load_locked()
            if not self.reuse_prefix:
                llama.reset()
            pieces = preempt is not None and callable(getattr(type(llama), "eval", None))
            if pieces and preempt is not None:
                # Inside create_chat_completion llama.cpp reads the whole prompt before the
                # first token; read in short pieces, a background call yields between them.
                llama.eval = _prompt_in_pieces(llama, preempt)
            chunks = llama.create_chat_completion(stream=True, **self._kwargs(request))
            produced = 0
            try:
                for chunk in chunks:
                    if cancelled is not None and cancelled.is_set():
                        yield "", "stop", max(0, llama.n_tokens - produced)
                        return
                    if preempt is not None and preempt():
                        raise _Preempted
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason")
                    if text:
                        produced += 1
                    if text or finish:
                        yield text, finish, max(0, llama.n_tokens - produced)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
                if pieces:
                    del llama.eval  # the class's own method again

    def stream(self, request: Any) -> Iterator[Any]:
        """Yield lm15 stream events: start, one text delta per token, end."""
        yield from _events(self.iter_text(request))

    def complete(self, request: Any) -> Any:
        """Return one lm15 Response for the request."""
        return _assemble(self.stream(request))

    def close(self) -> None:
        """Release the model's memory."""
        with self.lock:
            llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()


#: Prompt tokens read between two checks for a waiting chat call (~1 s on two cores at the
#: ~60 prompt tokens/s the embedded model reads).
PROMPT_PIECE = 48


def _prompt_in_pieces(llama: Any, preempt: Callable[[], bool]) -> Callable[[Any], None]:
    """``llama.eval`` reading the tokens ``PROMPT_PIECE`` at a time, stopping (``_Preempted``)
    between two pieces when ``preempt()`` says so. llama.cpp keeps what was read (its
    ``n_tokens`` and KV cache advance per piece), so the call, asked again, reads only the rest
    when the chat call in between shared its start, and the chat call is never corrupted."""
    read = type(llama).eval.__get__(llama)

    def eval_in_pieces(tokens: Any) -> None:
        tokens = list(tokens)
        for start in range(0, len(tokens), PROMPT_PIECE):
            if start and preempt():
                raise _Preempted
            read(tokens[start : start + PROMPT_PIECE])

    return eval_in_pieces


def _events(pieces: Iterator[tuple[str, str | None, int]]) -> Iterator[Any]:
    from dspy.lm15 import StreamDeltaEvent, StreamEndEvent, StreamStartEvent, TextDelta, Usage

    yield StreamStartEvent(id=None, model="local")
    finish: str | None = None
    out_tokens = 0
    in_tokens = 0
    for text, fin, prompt_tokens in pieces:
        in_tokens = prompt_tokens
        if text:
            out_tokens += 1
            yield StreamDeltaEvent(delta=TextDelta(text=text))
        finish = fin or finish
    usage = Usage(
        input_tokens=in_tokens, output_tokens=out_tokens, total_tokens=in_tokens + out_tokens
    )
    yield StreamEndEvent(finish_reason="length" if finish == "length" else "stop", usage=usage)


def _assemble(events: Iterator[Any]) -> Any:
    from dspy.lm15 import Message, Response, TextPart, Usage

    parts: list[str] = []
    finish = "stop"
    usage = Usage()
    for event in events:
        if event.type == "delta":
            parts.append(event.delta.text)
        elif event.type == "end":
            finish = event.finish_reason or "stop"
            usage = event.usage or usage
    return Response(
        id=None,
        model="local",
        message=Message.assistant([TextPart("".join(parts))]),
        finish_reason=finish,
        usage=usage,
    )


_DONE = object()


class AsyncLocalEngine:
    """The async half of the pair: generation runs in a worker thread, deltas reach the loop."""

    def __init__(self, sync: LocalEngine) -> None:
        self.sync = sync

    @property
    def supports_response_schema(self) -> bool:
        """Mirror the sync engine's capability (DSPy reads it from either)."""
        return self.sync.supports_response_schema

    async def complete(self, request: Any) -> Any:
        """Return one lm15 Response without blocking the event loop."""
        return _assemble(iter([event async for event in self.stream(request)]))

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        """Yield lm15 stream events as the worker thread produces tokens."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()
        # Read here: the worker thread does not see this task's context variables.
        priority = lm_priority.get()

        def work() -> None:
            try:
                for event in _events(self.sync.iter_text(request, cancelled, priority)):
                    loop.call_soon_threadsafe(queue.put_nowait, event)
            except BaseException as e:
                loop.call_soon_threadsafe(queue.put_nowait, e)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)

        pool = BACKGROUND_EXECUTOR if priority == "background" else LM_EXECUTOR
        worker = loop.run_in_executor(pool, work)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # A consumer that stops (a cancelled chat turn) stops generation at the next token.
            cancelled.set()
            await asyncio.shield(worker)

    async def aclose(self) -> None:
        """Nothing per loop to release; the sync engine owns the model."""
