"""The reviewer's panel: work the queue of memories the auditor flagged.

The server owns the queue. The panel shows the batch it last read and re-reads it after every
decision (and on Refresh), so two reviewers, or a reloaded notebook, see the same state. Filters
and search only choose which of the server's items are shown.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from resync_ext.widgets.client import ResyncClient
from resync_ext.widgets.errors import ResyncClientError
from resync_ext.widgets.render import error_html, note_html
from resync_ext.widgets.review_card import ReviewCard, item_text

ALL_AGENTS = ""


class ReviewPanel(widgets.VBox):
    """Review batches of flagged memories: approve, reject, comment, archive."""

    def __init__(self, client: ResyncClient | None = None) -> None:
        self.client = client or ResyncClient()
        self.batch: dict[str, Any] | None = None
        self.summaries: list[dict[str, Any]] = []
        self.cards: list[ReviewCard] = []
        self._quiet = False
        self.batch_picker = widgets.Dropdown(description="Batch", layout={"width": "440px"})
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.pending_only = widgets.Checkbox(value=False, description="Pending only", indent=False)
        self.agent_filter = widgets.Dropdown(
            options=[("All agents", ALL_AGENTS)], description="Agent", layout={"width": "280px"}
        )
        self.search = widgets.Text(placeholder="Search question, answer, reason, evidence")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, bar_style="info")
        self.progress_label = widgets.HTML()
        self.archive_button = widgets.Button(
            description="Archive batch",
            icon="archive",
            button_style="primary",
            layout=widgets.Layout(display="none"),
        )
        self.message = widgets.HTML()
        self.shown = widgets.HTML()
        self.cards_box = widgets.VBox()
        self.batch_picker.observe(self._on_batch, names="value")
        for control in (self.pending_only, self.agent_filter, self.search):
            control.observe(lambda _c: self._render_cards(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.archive_button.on_click(lambda _b: self.archive())
        super().__init__(
            [
                widgets.HBox([self.batch_picker, self.refresh_button]),
                widgets.HBox([self.progress, self.progress_label, self.archive_button]),
                widgets.HBox([self.pending_only, self.agent_filter, self.search]),
                self.message,
                self.shown,
                self.cards_box,
            ]
        )
        self.add_class("resync-review")
        self.refresh()

    # -- reading the server -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the batch list and the selected batch from the server."""
        try:
            self.summaries = self.client.batches()
        except ResyncClientError as e:
            self.message.value = error_html("server", e.message)
            return
        names = [b["name"] for b in self.summaries]
        keep = self.batch_picker.value if self.batch_picker.value in names else None
        if keep is None:  # the first batch with work left, else the first
            keep = next((b["name"] for b in self.summaries if b["pending"]), None)
            keep = keep or (names[0] if names else None)
        self._quiet = True
        try:
            self.batch_picker.options = [(_label(b), b["name"]) for b in self.summaries]
            self.batch_picker.value = keep
        finally:
            self._quiet = False
        self._load(keep)

    def _load(self, name: str | None) -> None:
        self.batch = None
        if name is not None:
            try:
                self.batch = self.client.batch(name)
            except ResyncClientError as e:
                self.message.value = error_html("server", e.message)
        agents = sorted({str(i.get("agent_id")) for i in self._items() if i.get("agent_id")})
        keep = self.agent_filter.value if self.agent_filter.value in agents else ALL_AGENTS
        self._quiet = True
        try:
            self.agent_filter.options = [("All agents", ALL_AGENTS), *((a, a) for a in agents)]
            self.agent_filter.value = keep
        finally:
            self._quiet = False
        self._show_progress()
        self._render_cards()

    # -- actions ----------------------------------------------------------------------------------
    def decide(self, memory_id: str, action: str, comment: str | None = None) -> None:
        """Approve or reject one item on the server, then re-read the batch."""
        try:
            item = self.client.review(memory_id, action, comment)
            self.message.value = note_html(
                f"{item['status'].capitalize()}: {item['question'][:100]}", "#1b7f3b"
            )
        except ResyncClientError as e:
            self.message.value = error_html("review", e.message)
        self.refresh()

    def archive(self) -> None:
        """Archive the selected batch (the server refuses while an item is pending)."""
        name = self.batch_picker.value
        if not name:
            return
        try:
            self.client.archive(name)
            self.message.value = note_html(f"Archived {name}.", "#1b7f3b")
        except ResyncClientError as e:
            self.message.value = error_html("archive", e.message)
        self.refresh()

    def close(self) -> None:
        """Close the HTTP client and the widgets."""
        for card in self.cards:
            card.dispose()
        self.client.close()
        super().close()

    # -- view -------------------------------------------------------------------------------------
    def _items(self) -> list[dict[str, Any]]:
        return list((self.batch or {}).get("items") or [])

    def visible_items(self) -> list[dict[str, Any]]:
        """The items the filters and the search let through."""
        words = self.search.value.lower().split()
        agent = self.agent_filter.value
        return [
            i
            for i in self._items()
            if not (self.pending_only.value and i.get("status") != "pending")
            and not (agent and i.get("agent_id") != agent)
            and all(w in item_text(i) for w in words)
        ]

    def _show_progress(self) -> None:
        items = self._items()
        decided = sum(1 for i in items if i.get("status") != "pending")
        self.progress.max = max(len(items), 1)
        self.progress.value = decided
        self.progress.bar_style = "success" if items and decided == len(items) else "info"
        self.progress_label.value = f"<b>{decided} of {len(items)} decided</b>" if items else ""
        done = bool(items) and decided == len(items)
        self.archive_button.layout.display = None if done else "none"

    def _render_cards(self) -> None:
        if self._quiet:
            return
        items = self.visible_items()
        for card in self.cards:
            card.dispose()
        self.cards = [ReviewCard(i, self.decide) for i in items]
        self.cards_box.children = self.cards
        total = len(self._items())
        if total:
            self.shown.value = note_html(f"Showing {len(items)} of {total}")
        else:
            self.shown.value = note_html("No review batch is open: the auditor flagged nothing.")

    def _on_batch(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.message.value = ""
            self._load(change["new"])


def _label(summary: dict[str, Any]) -> str:
    return f"{summary['name']} · {summary['pending']} pending of {summary['total']}"
