"""Learning from review: approved turns become few-shot demos of their agent.

Demos are kept per agent in ``<data_dir>/agents/demos/<agent_id>.json`` as the demos part of the
program's state (``{"predictors": {name: {"demos": [...]}}}``; instructions stay in code, so a new
docstring is never overridden by an old file). They are applied whenever the registry builds the
program. Only memories in state ``approved`` are used: rejected turns never become examples.

:class:`DemoLearner` does it as the reviewers decide: an approval schedules a rebuild of its
agent's demos, once for a burst of approvals, in the background (never inside the reviewer's
request); ``POST /resync/api/agents/demos/rebuild`` rebuilds every agent's at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resync_ext.debounce import Debouncer
from resync_ext.files import atomic_write_json

if TYPE_CHECKING:
    from resync_ext.agents.protocols import AgentProgram, ToolFn
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.memory.models import Memory
    from resync_ext.memory.store import MemoryStore

_log = logging.getLogger(__name__)
MAX_DEMO_SOURCES = 1000  # newest approved turns read when rebuilding an agent's demos
LEARN_DELAY_S = 2.0


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def approved_examples(memories: Iterable[Any], agent_id: str) -> list[dict[str, Any]]:
    """Return {question, answer, evidence} of the agent's approved memories, newest first."""
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
                    "answer": _get(meta, "answer"),
                    "evidence": evidence,
                },
            )
        )
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r[1] for r in rows]


class DemoStore:
    """Save, load and rebuild the few-shot demos of each agent."""

    def __init__(self, data_dir: Path, log: logging.Logger | None = None) -> None:
        self.dir = Path(data_dir).expanduser() / "agents" / "demos"
        self.log = log or _log

    def path(self, agent_id: str) -> Path:
        """Return the demos file of an agent."""
        return self.dir / f"{agent_id}.json"

    def apply(self, agent_id: str, program: AgentProgram) -> int:
        """Load the saved demos into ``program``'s predictors; return how many were applied."""
        import dspy

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

    def save(self, agent_id: str, program: AgentProgram) -> Path:
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

    def learn_from(self, memory: Memory) -> None:
        """An approved turn becomes a demonstration for its agent, soon."""
        if memory.metadata.agent_id:
            self.soon.add(memory.metadata.agent_id)

    async def _rebuild(self, agent_ids: set[str]) -> None:
        for agent_id in agent_ids:
            try:
                approved = await self._approved(agent_id)
                program = self.registry.create(agent_id, self.tools)
                await asyncio.to_thread(self.demos.rebuild, agent_id, program, approved)
            except Exception as e:  # learning must never undo a decision
                self.log.warning("Resync: could not rebuild the demos of %s: %s", agent_id, e)

    async def _approved(self, agent_id: str | None = None) -> list[Memory]:
        memories: list[Memory] = []
        while page := await self.store.list(
            state="approved", agent_id=agent_id, limit=200, offset=len(memories)
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
