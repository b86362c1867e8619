"""Reuse the agents' fixtures (simulator, tools, registry, events) for the LM tests."""

from __future__ import annotations

from tests.agents.conftest import events, registry, sim, tools

__all__ = ["events", "registry", "sim", "tools"]
