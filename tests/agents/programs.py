"""Load the project's agent programs by path, as the registry does."""

from __future__ import annotations

from resync_ext.agents.registry import load_program_class
from tests.agents.conftest import ROOT


def load_troubleshooter() -> type:
    """Return the Troubleshooter class from agents/troubleshooter.py."""
    return load_program_class("agents/troubleshooter.py:Troubleshooter", ROOT)


def load_judge() -> type:
    """Return the Judge class from agents/judge.py."""
    return load_program_class("agents/judge.py:Judge", ROOT)
