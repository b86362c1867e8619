"""Learning from review: approved turns become few-shot demos of their agent.

Demos are kept per agent in ``<data_dir>/agents/demos/<agent_id>.json`` as the demos part of the
program's state (``{"predictors": {name: {"demos": [...]}}}``; instructions stay in code, so a new
docstring is never overridden by an old file). They are applied whenever the registry builds the
program. Only memories in state ``approved`` are used: rejected turns never become examples.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from resync_ext.files import atomic_write_json

_log = logging.getLogger(__name__)


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

    def apply(self, agent_id: str, program: Any) -> int:
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

    def save(self, agent_id: str, program: Any) -> Path:
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

    def rebuild(self, agent_id: str, program: Any, memories: Iterable[Any]) -> int:
        """Rebuild an agent's demos from memories (only approved ones); return the demo count."""
        learn = getattr(program, "learn", None)
        if learn is None:
            return 0
        learn(approved_examples(memories, agent_id))
        count = sum(len(p.demos) for _, p in program.named_predictors())
        if count:
            self.save(agent_id, program)
        else:
            self.path(agent_id).unlink(missing_ok=True)
        self.log.info("Resync agents: %s has %d demos from review", agent_id, count)
        return count

    def rebuild_all(self, registry: Any, tools: Any, memories: Iterable[Any]) -> dict[str, int]:
        """Rebuild every configured agent's demos from the same memories."""
        items = list(memories)
        return {
            a["id"]: self.rebuild(a["id"], registry.create(a["id"], tools), items)
            for a in registry.list()
        }
