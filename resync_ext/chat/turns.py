"""One chat turn, end to end (ARCHITECTURE.md "The chat turn").

wait for a place (the server-wide cap, ``queued`` frames) → mask secrets → retrieve similar
memories (not rejected; approved first) → run the agent with the conversation's subject, streaming
``stage``, tool and token events → ``final`` → store the memory, linked to the conversation's
previous turn → audit it in the background. A turn that fails (LM error or timeout, TWS
unavailable, stopped) ends with an ``error`` frame and stores nothing: an answer given without
live evidence is not worth remembering.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from resync_ext import metrics
from resync_ext.agents.protocols import ToolFn
from resync_ext.agents.registry import AgentRegistry
from resync_ext.agents.runner import AgentEvent, AgentResult
from resync_ext.chat.conversation import Conversation, Conversations
from resync_ext.chat.errors import TurnFailed
from resync_ext.chat.frames import (
    ErrorFrame,
    FinalFrame,
    JsonObject,
    OutboundFrame,
    QueuedFrame,
    TokenFrame,
    ToolTiming,
    TurnTiming,
    stage_frame,
    turn_frame,
)
from resync_ext.chat.history import seen_before
from resync_ext.chat.slots import TurnSlots
from resync_ext.chat.watch import Activity, lm_failure
from resync_ext.llm.priority import CHAT_ACTIVITY
from resync_ext.redact import mask_obj, mask_secrets
from resync_ext.tws.injection import classify

if TYPE_CHECKING:
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

Send = Callable[[OutboundFrame], Awaitable[None]]
T = TypeVar("T")

CONTEXT_MEMORIES = 3
TIMINGS_KEPT = 1000

#: Tool error kinds that mean TWS itself could not be read (not a wrong job name, say).
TWS_DOWN_KINDS = frozenset({"unavailable", "auth"})
BREAKER_OPEN = (
    "TWS is unavailable (the circuit breaker is open after repeated failures); the answer below "
    "uses only what is already known."
)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _watch(fn: ToolFn, problems: list[str]) -> ToolFn:
    """Wrap a tool so the turn learns when TWS itself failed (tools return errors as data)."""

    @functools.wraps(fn)
    async def watched(*args: object, **kwargs: object) -> object:
        result = await fn(*args, **kwargs)
        error = result.get("error") if isinstance(result, dict) else None
        metrics.TOOL_CALLS.labels(fn.__name__, str(error is None).lower()).inc()
        if isinstance(error, dict) and error.get("kind") in TWS_DOWN_KINDS:
            problems.append(f"{fn.__name__}: {error.get('message', error.get('kind'))}")
        return result

    return watched


@dataclass
class _Answer:
    """What the agent said, and the TWS reads that failed while it gathered evidence."""

    result: AgentResult
    unavailable: list[str] = field(default_factory=list)


@dataclass
class _Checked:
    """What the agent reported beside its answer: the grounding counts, the subjects and, for a
    routing agent ("auto"), the agent that answered."""

    grounding: dict[str, int] | None
    subjects: list[str]
    agent: str | None = None


def _checked(result: AgentResult) -> _Checked:
    """Read the grounding counts and subjects an evidence-mode program returns (others: none)."""
    prediction = result.prediction
    raw = getattr(prediction, "grounding", None)
    grounding = {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else None
    if grounding is not None:
        metrics.GROUNDING_CLAIMS.labels("checked").inc(grounding.get("checked", 0))
        metrics.GROUNDING_CLAIMS.labels("dropped").inc(grounding.get("dropped", 0))
    subjects = [str(s) for s in getattr(prediction, "subjects", None) or [] if s]
    answered_by = getattr(prediction, "agent", None)
    return _Checked(grounding, subjects, str(answered_by) if answered_by else None)


class TurnService:
    """Run chat turns over the registry's agents, the TWS tools and the memory store."""

    def __init__(
        self,
        *,
        registry: AgentRegistry,
        tools: Callable[[], Mapping[str, ToolFn]],
        tws: metrics.HasBreaker | None,
        memory: MemoryStore | None = None,
        schedule_audit: Callable[[str], None] | None = None,
        timeout_s: float = 120.0,
        conversations: Conversations | None = None,
        slots: TurnSlots | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.registry = registry
        self.tools = tools
        self.tws = tws
        #: Set once the store is open (it opens in the background); no past turns, no memory
        #: of the turn before then.
        self.memory = memory
        self.schedule_audit = schedule_audit
        self.timeout_s = timeout_s
        self.conversations = conversations or Conversations()
        #: The server-wide cap on turns at once (None: no cap, as in ``resync-eval``).
        self.slots = slots
        self.log = log or logging.getLogger(__name__)
        self.timings: deque[dict[str, object]] = deque(maxlen=TIMINGS_KEPT)

    async def run(
        self,
        agent_id: str,
        turn_id: str,
        question: str,
        send: Send,
        conversation: str | None = None,
    ) -> FinalFrame:
        """Run one turn, sending its frames through ``send``; return the final frame.

        ``conversation`` names the conversation the turn belongs to (opened under that id when
        it is not kept; the chat handler resolves a client's id first).
        """
        conv = self.conversations.open(conversation, agent_id) if conversation else None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.slots is not None:
                    await stack.enter_async_context(self.slots.slot(_queued(turn_id, send)))
                # Background LM work (the auditor) yields the model while a turn runs.
                stack.enter_context(CHAT_ACTIVITY.turn())
                await send(stage_frame(turn_id, "reading"))
                final = await self._run(agent_id, turn_id, question, send, conv)
        except TurnFailed as e:
            metrics.observe_turn(agent_id, e.code)
            self.log.info("chat turn %s agent=%s failed: %s", turn_id, agent_id, e.code)
            raise
        except asyncio.CancelledError:
            metrics.observe_turn(agent_id, "stopped")
            self.log.info("chat turn %s agent=%s stopped", turn_id, agent_id)
            raise
        outcome = "ok" if final.memory_id is not None else "not_remembered"
        metrics.observe_turn(agent_id, outcome, final.timing.as_dict())
        return final

    async def _run(
        self, agent_id: str, turn_id: str, question: str, send: Send, conv: Conversation | None
    ) -> FinalFrame:
        """retrieve → ask → remember → finish."""
        t0 = time.perf_counter()
        timing = TurnTiming(agent_id=agent_id)
        masked = mask_secrets(question)
        store = self.memory
        breaker_open = self.tws is not None and self.tws.breaker_state == "open"
        context = await self._retrieve(store, masked, agent_id)
        timing.retrieval_ms = _ms(t0)
        if breaker_open:
            await send(ErrorFrame(id=turn_id, code="tws_unavailable", message=BREAKER_OPEN))
        answer = await self._ask(agent_id, turn_id, masked, context, send, timing, conv)
        checked = _checked(answer.result)
        content = answer.result.answer
        # Past turns are history, never facts: one dated line, written here, only when a past
        # turn is about this answer's subject (resync_ext.chat.history).
        # This conversation's own turns are not "seen before": the operator just read them.
        earlier = [m for m in context if conv is None or m.metadata.conversation != conv.id]
        line = seen_before(earlier, checked.subjects)
        if line:
            content = f"{content}\n{line}" if content else line
            await send(
                TokenFrame(id=turn_id, content=f"\n{line}" if answer.result.answer else line)
            )
        evidence = mask_obj(answer.result.evidence)
        memory_id = None
        # Remembered under the agent that answered (auto hands questions on, agents/auto.py).
        answered_by = checked.agent or agent_id
        if store is not None and not (breaker_open or answer.unavailable):
            await send(stage_frame(turn_id, "saving"))
            memory_id = await self._remember(
                store, answered_by, masked, answer, evidence, timing, conv
            )
        timing.total_ms = _ms(t0)
        final = FinalFrame(
            id=turn_id,
            content=content,
            memory_id=memory_id,
            evidence=evidence,
            context=[m.id for m in context],
            timing=timing,
            agent=answered_by,
            subject=checked.subjects[0] if checked.subjects else None,
            grounding=checked.grounding,
            conversation=conv.id if conv is not None else None,
        )
        if conv is not None:
            conv.add(masked, final.subject, evidence, memory_id)
            self.conversations.touch(conv)
        await self._finish(final, answer.unavailable if not breaker_open else [], send)
        return final

    async def _retrieve(
        self, store: MemoryStore | None, question: str, agent_id: str
    ) -> list[Memory]:
        """Look up similar past turns; none when the store cannot answer (the LM can)."""
        if store is None:
            return []
        try:
            # A routing agent's turns are remembered under the agents it routes to: search all.
            routes = self.registry.get(agent_id).routes
            found = await store.search(
                question, agent_id=None if routes else agent_id, limit=CONTEXT_MEMORIES
            )
        except Exception as e:
            self.log.warning("chat: no past turns for context (%s: %s)", type(e).__name__, e)
            return []
        # A remembered turn that carries instructions aimed at the assistant stays out of the
        # prompt: past questions are user text, and user text is data.
        found = [m for m in found if not any(classify(line) for line in m.text.splitlines())]
        # Approved first, then by similarity; rejected ones never come back from search.
        return sorted(found, key=lambda m: (m.metadata.state != "approved", -(m.score or 0.0)))

    async def _ask(
        self,
        agent_id: str,
        turn_id: str,
        question: str,
        context: Sequence[Memory],
        send: Send,
        timing: TurnTiming,
        conv: Conversation | None = None,
    ) -> _Answer:
        """Run the agent, streaming its tool events and tokens; fail on silence or an LM error."""
        from resync_ext.agents.runner import run_agent_streaming

        started: dict[str, float] = {}
        answer_unavailable: list[str] = []
        activity = Activity()

        async def forward(event: AgentEvent) -> None:
            activity.touch()
            if event["type"] == "tool_call":
                started[event["call_id"]] = time.perf_counter()
            elif event["type"] == "tool_result":
                t = started.pop(event["call_id"], time.perf_counter())
                timing.tools.append(ToolTiming(tool=event["tool"], ms=_ms(t)))
            await send(turn_frame(event, turn_id))

        tools = {name: _watch(fn, answer_unavailable) for name, fn in self.tools().items()}
        program = self.registry.create(agent_id, tools)
        lm = self.registry.lm_for(agent_id)
        t_agent = time.perf_counter()
        agent = asyncio.ensure_future(
            run_agent_streaming(
                program,
                lm,
                question=question,
                context=[m.text for m in context],
                on_event=forward,
                history=False,
                # A follow-up that names no object is about what the conversation was about.
                subject=conv.subject if conv is not None else None,
                earlier=conv.earlier_evidence() if conv is not None else (),
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
            raise lm_failure(e) from e
        finally:
            agent.cancel()
        timing.agent_ms = _ms(t_agent)
        tool_ms = sum(t.ms for t in timing.tools)
        timing.lm_ms = round(max(timing.agent_ms - tool_ms, 0.0), 2)
        return _Answer(result, answer_unavailable)

    async def _remember(
        self,
        store: MemoryStore,
        agent_id: str,
        question: str,
        answer: _Answer,
        evidence: list[JsonObject],
        timing: TurnTiming,
        conv: Conversation | None = None,
    ) -> str:
        """Store the turn as a memory (state ``new``), linked to the conversation's previous
        turn; return its id."""
        t_store = time.perf_counter()
        memory = await store.add_turn(
            agent_id=agent_id,
            question=question,
            answer=answer.result.answer,
            evidence=evidence,
            conversation=conv.id if conv is not None else None,
            previous=conv.last_memory_id if conv is not None else None,
        )
        timing.store_ms = _ms(t_store)
        return memory.id

    async def _finish(self, final: FinalFrame, unavailable: list[str], send: Send) -> None:
        """Send the final frame (after an error frame when TWS could not be read), log it and
        have the new memory audited."""
        timing = final.timing
        self.timings.append(timing.as_dict())
        if unavailable:
            await send(
                ErrorFrame(
                    id=final.id,
                    code="tws_unavailable",
                    message="TWS could not be read ("
                    + "; ".join(sorted(set(unavailable)))[:300]
                    + "); the answer is incomplete and was not remembered.",
                )
            )
        await send(final)
        self.log.info(
            "chat turn %s agent=%s tools=%d total=%.0fms memory=%s",
            final.id,
            timing.agent_id,
            len(timing.tools),
            timing.total_ms,
            final.memory_id,
        )
        if final.memory_id is not None and self.schedule_audit is not None:
            self.schedule_audit(final.memory_id)


def _queued(turn_id: str, send: Send) -> Callable[[int], Awaitable[None]]:
    """Tell the client where its turn waits in the queue."""

    async def tell(position: int) -> None:
        await send(QueuedFrame(id=turn_id, position=position))

    return tell
