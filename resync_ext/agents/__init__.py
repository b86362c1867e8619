"""Agents: the registry of DSPy programs, the streaming runner, few-shot demos and evaluations.

Programs live in ``agents/*.py`` at the project root and are loaded by path
(:mod:`resync_ext.agents.registry`); nothing here imports dspy at module import time.
"""

from __future__ import annotations
