"""Reuse the agents' fixtures (simulator, tools, registry, events) for the LM tests; with
``unknown_tools`` no known issue matches, so a failure is the model's to explain."""

from __future__ import annotations

from tests.agents.conftest import events, registry, sim, tools, unknown_tools

__all__ = ["events", "registry", "sim", "tools", "unknown_tools"]
