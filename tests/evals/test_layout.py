"""What a person reads, over every evaluation case: no machine spelling in any frame or panel.

Each bundled case is asked (its history first) through the chat's turn service on its own
simulated night with the evidence-echo LM, whose answers are the code-written facts and the
evidence themselves, so every sentence code writes reaches the text scanned here. The frames are
then shown by the chat panel's turn view, as the kernel does. Neither may carry a Python ``None``,
a JSON ``null`` or ``nan``, a `` | `` pipe, an internal rule id (``R1.db-credentials``, ``R12``)
or an ISO timestamp (``2026-11-23T22:01:10Z``): times are written in the engine's zone.
"""

from __future__ import annotations

import asyncio
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from resync_ext.agents.registry import AgentRegistry
from resync_ext.evaluation.cases import DEFAULT_AGENT, collect, load_case
from resync_ext.evaluation.lm import echo_lm
from resync_ext.evaluation.night import Night

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

MACHINE = {
    "None": re.compile(r"\bNone\b"),
    "null": re.compile(r"\bnull\b"),
    "nan": re.compile(r"\b(?:nan|NaN)\b"),
    "pipe": re.compile(r" \| "),
    "rule id": re.compile(r"\bR\d{1,2}(?:\.[a-z][\w-]*|\b)"),
    "ISO time": re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
}


def machine_spelling(text: str) -> list[str]:
    """Return what in ``text`` is spelt for machines, as ``kind: excerpt``."""
    found = []
    for kind, pattern in MACHINE.items():
        for m in pattern.finditer(text):
            found.append(f"{kind}: …{text[max(0, m.start() - 40) : m.end() + 40]}…")
    return found


def test_the_scan_finds_what_the_issue_reported() -> None:
    reported = (
        "HR_SYNC.AD_EXPORT (FAIL, RC None); ended 2026-11-23T22:01:10Z. Log of PAYROLL_EXTRACT: "
        "ERROR: | ORA-01017 Known issue R1.db-credentials; see R12"
    )
    kinds = {f.split(":")[0] for f in machine_spelling(reported)}
    assert kinds == {"None", "pipe", "rule id", "ISO time"}
    assert machine_spelling("PAYROLL_EXTRACT abended at 23:01 CET on 23 Nov, 9 h ago.") == []


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(html: str) -> str:
    """The text a browser shows for ``html``."""
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def frame_texts(frame: dict[str, Any]) -> list[str]:
    """The texts of a frame that the panel shows to a person."""
    kind = frame.get("type")
    if kind == "token":
        return [str(frame.get("content"))]
    if kind == "tool_result":
        return [str(frame.get("summary"))]
    if kind == "error":
        return [str(frame.get("message"))]
    if kind == "final":
        return [str(frame.get("content"))] + [str(e.get("summary")) for e in frame["evidence"]]
    return []


def panel_texts(question: str, agent: str, frames: list[dict[str, Any]]) -> list[str]:
    """Show the frames in the chat panel's turn view; return the text it renders."""
    from resync_ext.kernel.widgets.chat_turn import TurnView

    view = TurnView("layout-1", agent, question)
    for frame in frames:
        view.apply({**frame, "id": "layout-1"})
    rows = [page_text(str(r.value)) for r in view.evidence.children]
    titles = [str(view.evidence.get_title(i)) for i in range(len(view.evidence.children))]
    shown = [view.answer_html.value, view.errors_html.value, view.status_html.value]
    view.close()
    return [*map(page_text, shown), *rows, *titles]


async def _ask_all(registry: AgentRegistry) -> tuple[int, dict[str, list[str]]]:
    problems: dict[str, list[str]] = {}
    asked = 0
    for path in collect([str(HERE / "cases")]):
        case = load_case(path)
        agent = case.agent or DEFAULT_AGENT
        night = Night(registry, None)
        async with night.serve(case.scenario):
            assert night.service is not None
            for n, question in enumerate([*case.history, case.question]):
                frames: list[dict[str, Any]] = []

                async def send(frame: Any, into: list[dict[str, Any]] = frames) -> None:
                    into.append(frame.model_dump(mode="json"))

                await night.service.run(agent, f"t{n}", question, send)
                asked += 1
                texts = [t for f in frames for t in frame_texts(f)]
                texts += panel_texts(question, agent, frames)
                found = [s for t in texts for s in machine_spelling(t)]
                if found:
                    problems[f"{case.name} / {question}"] = sorted(set(found))
    return asked, problems


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_frame_or_panel_text_of_any_case_is_spelt_for_machines() -> None:
    lm = echo_lm()
    registry = AgentRegistry(ROOT / "config" / "runtime.json", lm_factory=lambda _model: lm)
    registry.load()
    asked, problems = asyncio.run(_ask_all(registry))
    assert asked >= 100
    assert problems == {}
