"""Learning from review: approved turns become few-shot demos of their agent.

Demos are kept per agent in ``<data_dir>/agents/demos/<agent_id>.json`` as the demos part of the
program's state (``{"predictors": {name: {"demos": [...]}}}``; instructions stay in code, so a new
docstring is never overridden by an old file). They are applied whenever the registry builds the
program. Only memories in state ``approved`` are used: rejected turns never become examples, and
a corrected turn teaches its corrected answer.

Every approved turn is a candidate. Once the memory store is open, the demos a turn actually
sees are the approved turns of its agent most similar to its question (the store's own embedder
and search, :meth:`DemoLearner.similar_examples`), chosen when the program starts answering
(``EvidenceAgent.demo_chooser``); the saved file (the newest ones) is the fallback when the store
cannot answer or holds nothing approved near the question.

Rejections that carry the reviewer's reason teach the auditor's judge instead: they are saved as
its counter-examples (verdict "incorrect", the reason as the judge's) under ``JUDGE_DEMOS_ID``.

:class:`DemoLearner` does it as the reviewers decide: an approval schedules a rebuild of its
agent's demos, once for a burst of approvals, in the background (never inside the reviewer's
request); ``POST /resync/api/agents/demos/rebuild`` rebuilds every agent's at once.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from resync_ext.debounce import Debouncer
from resync_ext.files import atomic_write_json

if TYPE_CHECKING:
    from resync_ext.agents.protocols import AgentProgram, Predictor, ToolFn
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

_log = logging.getLogger(__name__)
MAX_DEMO_SOURCES = 1000  # newest approved turns read when rebuilding an agent's demos
LEARN_DELAY_S = 2.0
#: How many of the question's nearest memories are searched for approved ones.
SIMILAR_SEARCH = 20
#: Demos shown per turn (each costs the small model prompt time: agents/tooling.py MAX_DEMOS).
SIMILAR_DEMOS = 2
#: The demos file of the auditor's judge (reviewers' rejections as counter-examples).
JUDGE_DEMOS_ID = "_auditor-judge"
MAX_COUNTER_EXAMPLES = 3

#: Picks a turn's demos from its question; None keeps the saved ones.
DemoChooser = Callable[[str], Awaitable[list[dict[str, Any]] | None]]


class Taught(Protocol):
    """A program whose predictors carry demos (an agent program, the judge program)."""

    def named_predictors(self) -> list[tuple[str, Predictor]]:
        """Every predictor with its name."""
        ...


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _final_answer(meta: Any) -> Any:
    """The reviewer's corrected answer when there is one, else the answer given."""
    review = _get(meta, "review")
    return (review and _get(review, "corrected_answer")) or _get(meta, "answer")


def approved_examples(
    memories: Iterable[Any], agent_id: str, *, newest_first: bool = True
) -> list[dict[str, Any]]:
    """Return {question, answer, evidence, memory_id} of the agent's approved memories, newest
    first (or in the order given); a corrected memory gives its corrected answer."""
    rows = []
    for m in memories:
        meta = _get(m, "metadata") or {}
        if _get(meta, "state") != "approved" or _get(meta, "agent_id") != agent_id:
            continue
        evidence = [
            e if isinstance(e, dict) else (e.model_dump() if hasattr(e, "model_dump") else dict(e))
            for e in _get(meta, "evidence") or []
        ]
        rows.append(
            (
                str(_get(m, "created_at") or ""),
                {
                    "question": _get(meta, "question"),
                    "answer": _final_answer(meta),
                    "evidence": evidence,
                    "memory_id": _get(m, "id"),
                },
            )
        )
    if newest_first:
        rows.sort(key=lambda r: r[0], reverse=True)
    return [r[1] for r in rows]


def counter_examples(memories: Iterable[Any]) -> list[dict[str, Any]]:
    """The judge's demos from rejected memories that carry the reviewer's reason, newest first."""
    from resync_ext.agents.evidence import evidence_lines

    rows = []
    for m in memories:
        meta = _get(m, "metadata") or {}
        review = _get(meta, "review")
        reason = review and _get(review, "comment")
        if _get(meta, "state") != "rejected" or not reason:
            continue
        example = {
            "question": _get(meta, "question"),
            "answer": _get(meta, "answer"),
            "evidence": "\n".join(evidence_lines(list(_get(meta, "evidence") or []))),
            "verdict": "incorrect",
            "confidence": 0.9,
            "reason": reason,
        }
        rows.append((str(_get(review, "at") or ""), example))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r[1] for r in rows[:MAX_COUNTER_EXAMPLES]]


class DemoStore:
    """Save, load and rebuild the few-shot demos of each agent."""

    def __init__(self, data_dir: Path, log: logging.Logger | None = None) -> None:
        self.dir = Path(data_dir).expanduser() / "agents" / "demos"
        self.log = log or _log
        #: Chooses a turn's demos by similarity (set by the DemoLearner once the store is open).
        self.chooser: Callable[[str, str], Awaitable[list[dict[str, Any]] | None]] | None = None

    def path(self, agent_id: str) -> Path:
        """Return the demos file of an agent."""
        return self.dir / f"{agent_id}.json"

    def apply(self, agent_id: str, program: Taught) -> int:
        """Load the saved demos into ``program``'s predictors; return how many were applied.

        An evidence agent also gets the chooser that replaces them, per question, with the most
        similar approved turns."""
        import dspy

        from resync_ext.agents.explain import EvidenceAgent

        if self.chooser is not None and isinstance(program, EvidenceAgent):
            program.demo_chooser = functools.partial(self.chooser, agent_id)
        path = self.path(agent_id)
        if not path.exists():
            return 0
        try:
            state = json.loads(path.read_text(encoding="utf-8"))["predictors"]
        except (OSError, ValueError, KeyError) as e:
            self.log.warning("Resync agents: ignoring unreadable demos %s: %s", path, e)
            return 0
        count = 0
        for name, predictor in program.named_predictors():
            demos = (state.get(name) or {}).get("demos") or []
            inputs = list(predictor.signature.input_fields)
            predictor.demos = [dspy.Example(**d).with_inputs(*inputs) for d in demos]
            count += len(predictor.demos)
        return count

    def save(self, agent_id: str, program: Taught) -> Path:
        """Write ``program``'s current demos atomically (``resync_ext.files.atomic_write_json``)."""
        state = {
            name: {"demos": [dict(d) for d in p.demos]}
            for name, p in program.named_predictors()
            if p.demos
        }
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(agent_id)
        atomic_write_json(path, {"agent_id": agent_id, "updated": time.time(), "predictors": state})
        return path

    def rebuild(self, agent_id: str, program: AgentProgram, memories: Iterable[Any]) -> int:
        """Rebuild an agent's demos from memories (only approved ones); return the demo count."""
        program.learn(approved_examples(memories, agent_id))
        count = sum(len(p.demos) for _, p in program.named_predictors())
        if count:
            self.save(agent_id, program)
        else:
            self.path(agent_id).unlink(missing_ok=True)
        self.log.info("Resync agents: %s has %d demos from review", agent_id, count)
        return count

    def rebuild_all(
        self, registry: AgentRegistry, tools: Mapping[str, ToolFn], memories: Iterable[Any]
    ) -> dict[str, int]:
        """Rebuild every configured agent's demos from the same memories."""
        items = list(memories)
        return {
            a["id"]: self.rebuild(a["id"], registry.create(a["id"], tools), items)
            for a in registry.list()
        }


class DemoLearner:
    """Rebuild agents' demos from the approved memories: soon after approvals, or all at once."""

    def __init__(
        self,
        store: MemoryStore,
        registry: AgentRegistry,
        demos: DemoStore,
        tools: Mapping[str, ToolFn],
        *,
        delay_s: float = LEARN_DELAY_S,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.demos = demos
        self.tools = tools
        self.log = log or _log
        self.soon: Debouncer[str] = Debouncer(
            delay_s, self._rebuild, name="resync-demos", log=self.log
        )
        demos.chooser = self.similar_examples

    def learn_from(self, memory: Memory) -> None:
        """An approved turn becomes a demonstration for its agent, a rejection with a reason a
        counter-example for the judge, soon."""
        meta = memory.metadata
        if meta.state == "approved" and meta.agent_id:
            self.soon.add(meta.agent_id)
        elif meta.state == "rejected" and meta.review is not None and meta.review.comment:
            self.soon.add(JUDGE_DEMOS_ID)

    async def similar_examples(self, agent_id: str, question: str) -> list[dict[str, Any]] | None:
        """The agent's approved turns most similar to ``question`` (with ``score``), best
        first; None when the store cannot answer or none is near."""
        try:
            found = await self.store.search(question, agent_id=agent_id, limit=SIMILAR_SEARCH)
        except Exception as e:  # demos are a help: a turn never fails for want of them
            self.log.warning("Resync: no similar demos for %s (%s)", agent_id, e)
            return None
        scores = {m.id: m.score for m in found}
        chosen = approved_examples(found, agent_id, newest_first=False)[:SIMILAR_DEMOS]
        for example in chosen:
            example["score"] = scores.get(example["memory_id"])
        return chosen or None

    async def _rebuild(self, agent_ids: set[str]) -> None:
        for agent_id in agent_ids:
            try:
                if agent_id == JUDGE_DEMOS_ID:
                    await self._rebuild_judge()
                    continue
                approved = await self._approved(agent_id)
                program = self.registry.create(agent_id, self.tools)
                await asyncio.to_thread(self.demos.rebuild, agent_id, program, approved)
            except Exception as e:  # learning must never undo a decision
                self.log.warning("Resync: could not rebuild the demos of %s: %s", agent_id, e)

    async def _rebuild_judge(self) -> None:
        """Save the newest reasoned rejections as the judge's counter-examples."""
        import dspy

        examples = counter_examples(await self._approved(state="rejected"))
        program = self.registry.create_judge()
        for _, predictor in program.named_predictors():
            inputs = list(predictor.signature.input_fields)
            predictor.demos = [dspy.Example(**e).with_inputs(*inputs) for e in examples]
        await asyncio.to_thread(self.demos.save, JUDGE_DEMOS_ID, program)
        self.log.info("Resync agents: the judge has %d counter-examples", len(examples))

    async def _approved(self, agent_id: str | None = None, state: str = "approved") -> list[Memory]:
        memories: list[Memory] = []
        while page := await self.store.list(
            state=state, agent_id=agent_id, limit=200, offset=len(memories)
        ):
            memories.extend(page)
            if len(memories) >= MAX_DEMO_SOURCES:
                break
        return memories

    async def rebuild_all(self) -> dict[str, int]:
        """Rebuild every agent's demonstrations from the approved memories now."""
        approved = await self._approved()
        return await asyncio.to_thread(self.demos.rebuild_all, self.registry, self.tools, approved)

    def stop(self) -> None:
        """Drop the rebuilds still waiting."""
        self.soon.cancel()
