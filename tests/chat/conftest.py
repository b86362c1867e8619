"""The agents' fixtures (the simulator on a night of failures, the real tools, the registry)."""

from tests.agents.conftest import registry, sim, tools, unknown_tools

__all__ = ["registry", "sim", "tools", "unknown_tools"]
