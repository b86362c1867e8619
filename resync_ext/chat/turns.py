"""One chat turn, end to end (ARCHITECTURE.md "The chat turn").

mask secrets → retrieve similar memories (not rejected; approved first) → run the agent, streaming
tool and token events → ``final`` → store the memory → audit it in the background. A turn that
fails (LM error or timeout, TWS unavailable, stopped) ends with an ``error`` frame and stores
nothing: an answer given without live evidence is not worth remembering.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from resync_ext import metrics
from resync_ext.redact import mask_obj, mask_secrets
from resync_ext.tws.injection import classify

Send = Callable[[dict[str, Any]], Awaitable[None]]

CONTEXT_MEMORIES = 3
TIMINGS_KEPT = 1000


class TurnFailed(Exception):
    """A turn that ends with an error frame; ``code`` names the cause."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: Tool error kinds that mean TWS itself could not be read (not a wrong job name, say).
TWS_DOWN_KINDS = frozenset({"unavailable", "auth"})


def _watch(fn: Callable[..., Awaitable[Any]], problems: list[str]) -> Callable[..., Any]:
    """Wrap a tool so the turn learns when TWS itself failed (tools return errors as data)."""

    @functools.wraps(fn)
    async def watched(*args: Any, **kwargs: Any) -> Any:
        result = await fn(*args, **kwargs)
        error = result.get("error") if isinstance(result, dict) else None
        metrics.TOOL_CALLS.labels(fn.__name__, str(error is None).lower()).inc()
        if isinstance(error, dict) and error.get("kind") in TWS_DOWN_KINDS:
            problems.append(f"{fn.__name__}: {error.get('message', error.get('kind'))}")
        return result

    return watched


class TurnService:
    """Run chat turns over the registry's agents, the TWS tools and the memory store."""

    def __init__(
        self,
        *,
        registry: Any,
        tools: Callable[[], dict[str, Any]],
        memory: Callable[[], Any],
        tws: Any,
        schedule_audit: Callable[[str], None] | None = None,
        timeout_s: float = 120.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.registry = registry
        self.tools = tools
        self.memory = memory
        self.tws = tws
        self.schedule_audit = schedule_audit
        self.timeout_s = timeout_s
        self.log = log or logging.getLogger(__name__)
        self.timings: deque[dict[str, Any]] = deque(maxlen=TIMINGS_KEPT)

    async def _context(self, store: Any, question: str, agent_id: str) -> list[Any]:
        """Look up similar past turns; none when the store cannot answer (the LM can)."""
        if store is None:
            return []
        try:
            found = await store.search(question, agent_id=agent_id, limit=CONTEXT_MEMORIES)
        except Exception as e:
            self.log.warning("chat: no past turns for context (%s: %s)", type(e).__name__, e)
            return []
        # A remembered turn that carries instructions aimed at the assistant stays out of the
        # prompt: past questions are user text, and user text is data.
        found = [m for m in found if not any(classify(line) for line in m.text.splitlines())]
        # Approved first, then by similarity; rejected ones never come back from search.
        return sorted(found, key=lambda m: (m.metadata.state != "approved", -(m.score or 0.0)))

    async def run(self, agent_id: str, turn_id: str, question: str, send: Send) -> dict[str, Any]:
        """Run one turn, sending its frames through ``send``; return the final frame."""
        try:
            final = await self._run(agent_id, turn_id, question, send)
        except TurnFailed as e:
            metrics.observe_turn(agent_id, e.code)
            self.log.info("chat turn %s agent=%s failed: %s", turn_id, agent_id, e.code)
            raise
        except asyncio.CancelledError:
            metrics.observe_turn(agent_id, "stopped")
            self.log.info("chat turn %s agent=%s stopped", turn_id, agent_id)
            raise
        outcome = "ok" if final["memory_id"] is not None else "not_remembered"
        metrics.observe_turn(agent_id, outcome, final["timing"])
        return final

    async def _run(self, agent_id: str, turn_id: str, question: str, send: Send) -> dict[str, Any]:
        from resync_ext.agents.runner import run_agent_streaming

        t0 = time.perf_counter()
        timing: dict[str, Any] = {"agent_id": agent_id, "tools": []}
        masked = mask_secrets(question)
        store = self.memory()
        breaker_open = getattr(self.tws, "breaker_state", "closed") == "open"
        context = await self._context(store, masked, agent_id)
        timing["retrieval_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        if breaker_open:
            await send(
                {
                    "type": "error",
                    "id": turn_id,
                    "code": "tws_unavailable",
                    "message": "TWS is unavailable (the circuit breaker is open after repeated "
                    "failures); the answer below uses only what is already known.",
                }
            )

        started: dict[str, float] = {}
        unavailable: list[str] = []

        activity = _Activity()

        async def forward(event: dict[str, Any]) -> None:
            activity.touch()
            if event["type"] == "tool_call":
                started[event["call_id"]] = time.perf_counter()
            elif event["type"] == "tool_result":
                t = started.pop(event["call_id"], time.perf_counter())
                timing["tools"].append(
                    {"tool": event["tool"], "ms": round((time.perf_counter() - t) * 1000, 2)}
                )
            await send({**event, "id": turn_id})

        tools = {name: _watch(fn, unavailable) for name, fn in self.tools().items()}
        program = self.registry.create(agent_id, tools)
        lm = self.registry.lm_for(agent_id)
        context_text = [m.text for m in context]
        t_agent = time.perf_counter()
        agent = asyncio.ensure_future(
            run_agent_streaming(
                program, lm, question=masked, context=context_text, on_event=forward, history=False
            )
        )
        try:
            # A streaming answer is never cut: the limit is on silence, not on the whole turn.
            if not await activity.wait_while_busy(agent, self.timeout_s):
                raise TurnFailed(
                    "lm_timeout", f"the agent made no progress for {self.timeout_s:g}s"
                )
            result = agent.result()
        except TurnFailed:
            raise
        except Exception as e:  # the LM layer raises many types (LiteLLM, llama.cpp, DSPy)
            raise _lm_failure(e) from e
        finally:
            agent.cancel()
        timing["agent_ms"] = round((time.perf_counter() - t_agent) * 1000, 2)
        tool_ms = sum(t["ms"] for t in timing["tools"])
        timing["lm_ms"] = round(max(timing["agent_ms"] - tool_ms, 0.0), 2)

        evidence = mask_obj(result.evidence)
        memory_id = None
        failed = breaker_open or bool(unavailable)
        if store is not None and not failed:
            t_store = time.perf_counter()
            memory = await store.add_turn(
                agent_id=agent_id, question=masked, answer=result.answer, evidence=evidence
            )
            memory_id = memory.id
            timing["store_ms"] = round((time.perf_counter() - t_store) * 1000, 2)
        timing["total_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        self.timings.append(timing)
        final = {
            "type": "final",
            "id": turn_id,
            "content": result.answer,
            "memory_id": memory_id,
            "evidence": evidence,
            "context": [m.id for m in context],
            "timing": timing,
        }
        if unavailable and not breaker_open:
            await send(
                {
                    "type": "error",
                    "id": turn_id,
                    "code": "tws_unavailable",
                    "message": "TWS could not be read ("
                    + "; ".join(sorted(set(unavailable)))[:300]
                    + "); the answer is incomplete and was not remembered.",
                }
            )
        await send(final)
        self.log.info(
            "chat turn %s agent=%s tools=%d total=%.0fms memory=%s",
            turn_id,
            agent_id,
            len(timing["tools"]),
            timing["total_ms"],
            memory_id,
        )
        if memory_id is not None and self.schedule_audit is not None:
            self.schedule_audit(memory_id)
        return final


class _Activity:
    """When the turn last showed progress (a tool event or a token)."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def touch(self) -> None:
        self.last = time.monotonic()

    async def wait_while_busy(self, task: asyncio.Future[Any], idle_limit: float) -> bool:
        """Wait for ``task``; False when it stayed silent for ``idle_limit`` seconds first."""
        while not task.done():
            remaining = idle_limit - (time.monotonic() - self.last)
            if remaining <= 0:
                return False
            await asyncio.wait({task}, timeout=remaining)
        return True


def _lm_failure(e: Exception) -> TurnFailed:
    name = type(e).__name__
    text = mask_secrets(str(e)).splitlines()[0][:300] if str(e) else ""
    if "timeout" in name.lower() or "timed out" in text.lower():
        return TurnFailed("lm_timeout", f"the language model timed out ({name})")
    return TurnFailed("lm_error", f"the language model failed: {name}: {text}")
