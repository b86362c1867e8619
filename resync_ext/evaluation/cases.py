"""The evaluation cases: their files found and read (SPEC.md §8), and what one case came to."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_AGENT = "tws-troubleshooter"
TAGS = frozenset(
    {
        "root-cause",
        "multi-hop",
        "rerun",
        "red-herring",
        "long-running",
        "deadline",
        "control-healthy",
        "control-unknown",
        "summary",
        "natural-name",
    }
)


@dataclass
class Case:
    """One evaluation case as read from its file."""

    path: Path
    scenario: Path | dict[str, Any]
    question: str
    agent: str | None
    tags: list[str]
    history: list[str]
    expect: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def scenario_key(self) -> str:
        """What identifies the case's night: its file, or its inline mapping."""
        if isinstance(self.scenario, Path):
            return str(self.scenario)
        return json.dumps(self.scenario, sort_keys=True, default=str)


@dataclass
class CaseResult:
    """The outcome of one case (its last question; earlier ones are the conversation)."""

    case: str
    agent: str
    passed: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    answer: str = ""
    tags: list[str] = field(default_factory=list)
    question: str = ""
    history: list[str] = field(default_factory=list)
    ungrounded: list[str] = field(default_factory=list)
    claims_checked: int = 0
    degenerate: bool = False
    turn_seconds: list[float] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    grounding: dict[str, int] | None = None
    context: list[str] = field(default_factory=list)


def collect(paths: list[str]) -> list[Path]:
    """Return the case files named or found under the directories (not under scenarios/)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files += sorted(
                f
                for f in p.rglob("*")
                if f.suffix in {".yaml", ".yml", ".json"}
                and "scenarios" not in f.relative_to(p).parts
            )
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit(f"resync-eval: no such case file or directory: {raw}")
    return files


def load_case(path: Path) -> Case:
    """Read and check one case file; a malformed one raises ValueError naming the problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "scenario" not in data or "question" not in data:
        raise ValueError("a case needs a scenario and a question")
    scenario = data["scenario"]
    if isinstance(scenario, str):
        scenario = (path.parent / scenario).resolve()
    elif not isinstance(scenario, dict):
        raise ValueError("scenario must be a path or a mapping")
    tags = list(data.get("tags") or [])
    unknown = sorted(set(tags) - TAGS)
    if unknown:
        raise ValueError(f"unknown tags {unknown} (known: {', '.join(sorted(TAGS))})")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(isinstance(q, str) for q in history):
        raise ValueError("history must be a list of questions")
    return Case(
        path,
        scenario,
        str(data["question"]),
        data.get("agent"),
        tags,
        history,
        dict(data.get("expect") or {}),
    )
