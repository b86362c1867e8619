"""Errors of the agents package.

Hierarchy::

    AgentError                  base
    ├── AgentNotFound     404   no agent with that id in the current configuration
    ├── AgentConfigError  400   runtime.json is broken: bad JSON, unknown tool or program
    └── JudgeOutputError  502   the judge's output is not a valid verdict (also a ValueError,
                                so the auditor's retry-once catches it)
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentError(Exception):
    """Base of the agents package's errors."""

    http_status: ClassVar[int] = 500
    reason: ClassVar[str] = "agent_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class AgentNotFound(AgentError):
    """No agent with that id is configured."""

    http_status = 404
    reason = "not_found"

    def __init__(self, agent_id: str, known: list[str]) -> None:
        super().__init__(
            f"unknown agent {agent_id!r}; known: {', '.join(known) or 'none'}", agent_id=agent_id
        )
        self.agent_id = agent_id


class AgentConfigError(AgentError):
    """The agents configuration cannot be used."""

    http_status = 400
    reason = "agent_config"

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}", path=path)
        self.path = path
        self.problem = problem


class JudgeOutputError(AgentError, ValueError):
    """The judge answered something that is not a valid verdict."""

    http_status = 502
    reason = "judge_output"

    def __init__(self, problem: str, raw: str | None = None) -> None:
        super().__init__(f"judge output is not a valid verdict: {problem}", raw=raw)
        self.raw = raw
