"""The registry of agents: ``config/runtime.json`` -> DSPy programs, hot-reloaded.

Programs are named ``agents/<file>.py:<Class>`` (loaded by path under a private module name:
``import agents`` would find another well-known package) or ``package.module:Class`` for an
installed module. Tool names are checked against the TWS tool registry. A file that does not parse
or names something unknown never replaces the last good configuration: the error is logged and kept
in ``last_error`` until the file is fixed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from resync_ext.agents.errors import AgentConfigError, AgentNotFound
from resync_ext.agents.protocols import AGENT_PROGRAM_METHODS, AgentProgram, JudgeProgram
from resync_ext.agents.routing import Delegate

if TYPE_CHECKING:
    from resync_ext.agents.demos import DemoStore

_log = logging.getLogger(__name__)
Listener = Callable[[list[dict[str, Any]]], None]


class AgentInfo(BaseModel):
    """An agent as clients see it (GET /resync/api/agents, the chat's ready and config_update)."""

    id: str
    name: str
    description: str
    tools: list[str]
    model: str | None


class AgentSpec(BaseModel):
    """One agent as configured in runtime.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    program: str = Field(min_length=3)
    tools: tuple[str, ...] = ()
    model: str | None = None
    max_iters: int = Field(default=8, ge=1, le=50)
    mode: Literal["evidence", "react"] = "evidence"
    #: A routing agent ("auto") names the agents it hands questions to, by kind of question
    #: ({"plan": "tws-analyzer", "object": "tws-troubleshooter"}); it answers nothing itself.
    routes: dict[str, str] | None = None

    def info(self) -> AgentInfo:
        """Return the agent as clients see it."""
        return AgentInfo(
            id=self.id,
            name=self.name,
            description=self.description,
            tools=list(self.tools),
            model=self.model,
        )

    def public(self) -> dict[str, Any]:
        """Return the agent as the API shows it (:class:`AgentInfo` as plain data)."""
        return self.info().model_dump()


class JudgeSpec(BaseModel):
    """The auditor's judge program."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    program: str = "agents/judge.py:Judge"
    model: str | None = None


class RuntimeConfig(BaseModel):
    """The whole runtime.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    agents: tuple[AgentSpec, ...] = Field(min_length=1)
    judge: JudgeSpec = JudgeSpec()


def load_program_class(ref: str, root: Path) -> type:
    """Import ``file.py:Class`` (relative to ``root``) or ``module:Class`` and return the class."""
    target, sep, cls_name = ref.rpartition(":")
    if not sep or not target or not cls_name:
        raise ValueError(f"program {ref!r} must look like 'agents/file.py:Class' or 'module:Class'")
    if target.endswith(".py"):
        path = (root / target).resolve() if not Path(target).is_absolute() else Path(target)
        if not path.is_file():
            raise ValueError(f"program file {path} does not exist")
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        mod_name = f"_resync_agent_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module  # dataclasses and pydantic look the module up by name
        try:
            spec.loader.exec_module(module)
        except Exception:
            sys.modules.pop(mod_name, None)
            raise
    else:
        module = importlib.import_module(target)
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"{target} has no class {cls_name}")
    import dspy

    if not issubclass(cls, dspy.Module):
        raise ValueError(f"{ref} is not a dspy.Module")
    return cls


def _default_tool_names() -> frozenset[str]:
    from resync_ext.tws.tools import TOOL_NAMES

    return frozenset(TOOL_NAMES)


class AgentRegistry:
    """Load, validate, hot-reload and hand out the configured agents."""

    def __init__(
        self,
        config_path: Path,
        *,
        root: Path | None = None,
        tool_names: Collection[str] | None = None,
        lm_factory: Callable[[str | None], Any] | None = None,
        demos: DemoStore | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        # Program paths are relative to the project root, the folder holding config/.
        self.root = Path(root) if root is not None else self.config_path.resolve().parent.parent
        self._tool_names = frozenset(tool_names) if tool_names is not None else None
        self.lm_factory = lm_factory
        self.demos = demos
        self.log = log or _log
        self._lock = threading.RLock()
        self._config: RuntimeConfig | None = None
        self._classes: dict[str, type] = {}
        self._judge_class: type | None = None
        self._seen: tuple[str, tuple[tuple[str, int], ...]] | None = None
        self._lms: dict[str | None, Any] = {}
        self._listeners: list[Listener] = []
        self.last_error: str | None = None

    # -- loading --------------------------------------------------------------------------------
    def _signature(self) -> tuple[str, tuple[tuple[str, int], ...]]:
        raw = self.config_path.read_bytes()
        files: list[tuple[str, int]] = []
        try:
            for ref in json.loads(raw).get("agents", []):
                target = str(ref.get("program", "")).rpartition(":")[0]
                if target.endswith(".py") and (self.root / target).is_file():
                    files.append((target, (self.root / target).stat().st_mtime_ns))
        except (ValueError, AttributeError, TypeError):
            pass  # reported by _parse with a proper message
        return hashlib.sha256(raw).hexdigest(), tuple(files)

    def _parse(self) -> tuple[RuntimeConfig, dict[str, type], type]:
        where = str(self.config_path)
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
            config = RuntimeConfig.model_validate(data)
        except (OSError, ValueError) as e:
            first = e.errors()[0] if isinstance(e, ValidationError) else None
            problem = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(e)
            raise AgentConfigError(where, problem) from e
        ids = [a.id for a in config.agents]
        if len(set(ids)) != len(ids):
            raise AgentConfigError(where, f"duplicate agent ids in {ids}")
        known = self._tool_names if self._tool_names is not None else _default_tool_names()
        classes: dict[str, type] = {}
        for agent in config.agents:
            unknown = [t for t in agent.tools if t not in known]
            if unknown:
                raise AgentConfigError(
                    where,
                    f"agent {agent.id!r} names unknown tools {unknown}; known: {sorted(known)}",
                )
            cls = self._load_class(where, agent.id, agent.program)
            missing = [m for m in AGENT_PROGRAM_METHODS if not callable(getattr(cls, m, None))]
            if missing:
                raise AgentConfigError(
                    where, f"agent {agent.id!r}: program {agent.program!r} lacks {missing}"
                )
            classes[agent.id] = cls
        by_id = {a.id: a for a in config.agents}
        for agent in config.agents:
            for kind, target in (agent.routes or {}).items():
                if target not in by_id or by_id[target].routes:
                    raise AgentConfigError(
                        where,
                        f"agent {agent.id!r} routes {kind!r} to {target!r}, which is not an "
                        "agent that answers (unknown, or routing itself)",
                    )
        judge = self._load_class(where, "judge", config.judge.program)
        return config, classes, judge

    def _load_class(self, where: str, owner: str, ref: str) -> type:
        try:
            return load_program_class(ref, self.root)
        except Exception as e:
            raise AgentConfigError(
                where, f"{owner}: cannot load program {ref!r}: {type(e).__name__}: {e}"
            ) from e

    def load(self) -> None:
        """Load the configuration now; raise AgentConfigError when it is broken."""
        with self._lock:
            signature = self._signature() if self.config_path.exists() else None
            config, classes, judge = self._parse()
            self._config, self._classes, self._judge_class = config, classes, judge
            self._seen = signature
            self.last_error = None
        self.log.info(
            "Resync agents: loaded %d agents from %s", len(config.agents), self.config_path
        )

    def reload_if_changed(self) -> bool:
        """Reload when the file (or a program file) changed; True when a new config was applied."""
        with self._lock:
            problem: str | None = None
            try:
                signature = self._signature()
            except OSError as e:
                # A stable signature for "unreadable": the error is logged once, not every poll.
                signature = (f"unreadable: {type(e).__name__}", ())
                problem = f"cannot read: {e}"
            if signature == self._seen:
                return False
            self._seen = signature
            try:
                if problem is not None:
                    raise AgentConfigError(str(self.config_path), problem)
                config, classes, judge = self._parse()
            except AgentConfigError as e:
                self.last_error = e.message
                self.log.error("Resync agents: %s; keeping the last good configuration", e.message)
                return False
            self._config, self._classes, self._judge_class = config, classes, judge
            self.last_error = None
            agents = self.list()
        self.log.info("Resync agents: reloaded %s (%d agents)", self.config_path, len(agents))
        for listener in list(self._listeners):
            try:
                listener(agents)
            except Exception:  # a listener's bug must not stop the reload or the others
                self.log.exception("Resync agents: config listener failed")
        return True

    async def areload_if_changed(self) -> bool:
        """Run :meth:`reload_if_changed` in a worker thread (it may import program modules)."""
        import asyncio

        return await asyncio.to_thread(self.reload_if_changed)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(agents)`` after every successful reload (from the reloading thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- queries --------------------------------------------------------------------------------
    @property
    def config(self) -> RuntimeConfig:
        """The configuration in force (load() first)."""
        if self._config is None:
            raise AgentConfigError(str(self.config_path), "not loaded")
        return self._config

    def list(self) -> list[dict[str, Any]]:
        """Return the agents as the API shows them."""
        return [a.public() for a in self.config.agents]

    def get(self, agent_id: str) -> AgentSpec:
        """Return one agent's spec or raise AgentNotFound."""
        for agent in self.config.agents:
            if agent.id == agent_id:
                return agent
        raise AgentNotFound(agent_id, [a.id for a in self.config.agents])

    def create(self, agent_id: str, tools: Mapping[str, Callable[..., Any]]) -> AgentProgram:
        """Build the agent's program over ``tools`` (only the ones it is configured with)."""
        with self._lock:
            spec = self.get(agent_id)
            cls = self._classes[agent_id]
        missing = [t for t in spec.tools if t not in tools]
        if missing:
            raise AgentConfigError(str(self.config_path), f"tools {missing} are not available")
        kwargs: dict[str, Any] = {}
        if spec.routes:
            # Each agent routed to is built as if asked directly: its own tools, demos and LM.
            kwargs["delegates"] = {
                kind: Delegate(
                    target,
                    self.create(target, tools),
                    self.lm_for(target) if self.lm_factory is not None else None,
                )
                for kind, target in spec.routes.items()
            }
        program: AgentProgram = cls(
            tools={t: tools[t] for t in spec.tools},
            max_iters=spec.max_iters,
            mode=spec.mode,
            **kwargs,
        )
        if self.demos is not None:
            self.demos.apply(agent_id, program)
        return program

    def create_judge(self) -> JudgeProgram:
        """Build the auditor's judge program."""
        with self._lock:
            if self._judge_class is None:
                raise AgentConfigError(str(self.config_path), "not loaded")
            judge: JudgeProgram = self._judge_class()
            return judge

    def lm_for(self, agent_id: str | None) -> Any:
        """Return the LM an agent runs on (its ``model`` or the default); ``None`` = the judge's."""
        model = self.get(agent_id).model if agent_id is not None else self.config.judge.model
        if self.lm_factory is None:
            raise AgentConfigError(str(self.config_path), "no lm_factory configured")
        # Keyed by model id and kept across reloads: rebuilding the local LM would reload 1 GB.
        with self._lock:
            if model not in self._lms:
                self._lms[model] = self.lm_factory(model)
            return self._lms[model]
