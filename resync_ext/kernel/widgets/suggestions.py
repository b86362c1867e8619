"""Suggested questions for an empty chat: three or four buttons built from the live plan.

The server writes them from what the engine reports (GET /resync/api/suggestions); a click asks
the question as if it had been typed. The panel shows them only while its conversation is empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.widgets.render import note_html


class SuggestionsView(widgets.VBox):
    """Questions worth asking now, one button each; clicking one asks it."""

    def __init__(self, client: ResyncClient, on_pick: Callable[[str], object]) -> None:
        self.client = client
        self.on_pick = on_pick
        self.questions: list[str] = []
        self.dismissed = False  # the conversation started: an answer arriving late stays hidden
        self.title = widgets.HTML(note_html("Try asking:"))
        self.buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.note = widgets.HTML()
        super().__init__([self.title, self.buttons, self.note], layout={"display": "none"})
        self.add_class("resync-suggestions")

    def refresh(self) -> asyncio.Task[None] | None:
        """Fetch the questions: in the background on a running loop (a kernel), else now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.show(self._fetch())
            return None
        return loop.create_task(self._refresh())

    async def _refresh(self) -> None:
        self.show(await asyncio.to_thread(self._fetch))

    def _fetch(self) -> dict[str, Any]:
        try:
            return dict(self.client.request("GET", "suggestions"))
        except ResyncClientError as e:  # nothing to suggest is not an error worth a red box
            return {"suggestions": [], "note": e.message}

    def show(self, found: dict[str, Any]) -> None:
        """Show ``{"suggestions": [{"question", "reason"}], "note"?}`` as buttons."""
        rows = [s for s in found.get("suggestions") or [] if s.get("question")]
        self.questions = [str(s["question"]) for s in rows]
        self.buttons.children = tuple(self._button(s) for s in rows)
        self.note.value = note_html(str(found["note"])) if found.get("note") else ""
        self.layout.display = None if rows and not self.dismissed else "none"

    def hide(self) -> None:
        """Hide the questions for good (the conversation has started)."""
        self.dismissed = True
        self.layout.display = "none"

    def _button(self, suggestion: dict[str, Any]) -> widgets.Button:
        question = str(suggestion["question"])
        button = widgets.Button(
            description=question,
            tooltip=str(suggestion.get("reason") or question),
            layout=widgets.Layout(width="auto", margin="2px 6px 2px 0"),
        )
        button.add_class("resync-suggestion")
        button.on_click(lambda _b: self.on_pick(question))
        return button
