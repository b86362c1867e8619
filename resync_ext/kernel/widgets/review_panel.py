"""The reviewer's panel: work the queue of memories the auditor flagged.

The server owns the queue. The panel shows the batch it last read and re-reads it after every
decision (and on Refresh), so two reviewers, or a reloaded notebook, see the same state. Filters
and search only choose which of the server's items are shown.

**Run audit now** asks the server for an audit pass, which may take minutes (the LM judges every
new memory): the request waits in a thread under a task on the kernel's loop, so the kernel keeps
serving the panel (and the notebook) meanwhile; then the queue is re-read, showing the batch the
pass filed its flags into.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.widgets.render import error_html, note_html
from resync_ext.kernel.widgets.review_card import ReviewCard, item_text

ALL_AGENTS = ""
OK_COLOUR, WARN_COLOUR = "#1b7f3b", "#b26a00"

#: What ``_read_queue`` answers: the batch list, the batch to show, its content, an error.
Queue = tuple[list[dict[str, Any]], str | None, dict[str, Any] | None, str | None]


def audit_summary_text(summary: dict[str, Any]) -> str:
    """One line saying what an audit pass did."""
    text = (
        f"Audited {summary.get('audited', 0)}: {summary.get('ok', 0)} ok, "
        f"{summary.get('flagged', 0)} flagged, {summary.get('rejected', 0)} rejected "
        f"in {float(summary.get('seconds') or 0):.1f} s."
    )
    if summary.get("errors"):
        text += f" {summary['errors']} could not be judged: they stay new for the next pass."
    if summary.get("batch"):
        text += f" Flagged items are in {summary['batch']}."
    return text


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
        self.audit_button = widgets.Button(
            description="Run audit now",
            icon="gavel",
            tooltip="Have the auditor judge every new memory now, then refresh the queue",
        )
        self.audit_status = widgets.HTML()
        self.audit_task: asyncio.Task[None] | None = None
        self.last_audit: dict[str, Any] | None = None
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
        self.audit_button.on_click(lambda _b: self.run_audit())
        self.archive_button.on_click(lambda _b: self.archive())
        super().__init__(
            [
                widgets.HBox([self.batch_picker, self.refresh_button, self.audit_button]),
                self.audit_status,
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
            queue = self._read_queue(self.batch_picker.value)
        except ResyncClientError as e:
            self.message.value = error_html("server", e.message)
            return
        self._show_queue(queue)

    def _read_queue(self, wanted: str | None) -> Queue:
        """Read the batches and one of them: ``wanted`` if open, else the first with work left."""
        # Only HTTP, no widget: safe to run in a thread.
        summaries = self.client.batches()
        names = [b["name"] for b in summaries]
        keep = wanted if wanted in names else None
        if keep is None:  # the first batch with work left, else the first
            keep = next((b["name"] for b in summaries if b["pending"]), None)
            keep = keep or (names[0] if names else None)
        return (summaries, keep, *self._fetch(keep))

    def _show_queue(self, queue: Queue) -> None:
        self.summaries, keep, batch, error = queue
        self._quiet = True
        try:
            self.batch_picker.options = [(_label(b), b["name"]) for b in self.summaries]
            self.batch_picker.value = keep
        finally:
            self._quiet = False
        self._show_batch(batch, error)

    def _fetch(self, name: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """Read batch ``name``: ``(batch, None)`` or ``(None, error)``; ``(None, None)`` if none."""
        if name is None:
            return None, None
        try:
            return self.client.batch(name), None
        except ResyncClientError as e:
            return None, e.message

    def _load(self, name: str | None) -> None:
        self._show_batch(*self._fetch(name))

    def _show_batch(self, batch: dict[str, Any] | None, error: str | None) -> None:
        self.batch = batch
        if error is not None:
            self.message.value = error_html("server", error)
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

    @property
    def auditing(self) -> bool:
        """True while an audit pass started from this panel runs."""
        return self.audit_task is not None and not self.audit_task.done()

    def run_audit(self) -> asyncio.Task[None] | None:
        """Start an audit pass on the server in the background; None if one is running already."""
        if self.auditing:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.audit_status.value = error_html(
                "audit", "the audit runs on the kernel's asyncio loop: use the panel in a kernel"
            )
            return None
        self.audit_button.disabled = True
        self.audit_status.value = note_html("Auditing the new memories…")
        self.audit_task = loop.create_task(self._audit(), name="resync-review-audit")
        return self.audit_task

    async def _audit(self) -> None:
        try:
            await self._audit_and_reload()
        except Exception as e:  # shown in the panel: a widget task has nobody else to tell
            self.audit_status.value = error_html("internal", f"{type(e).__name__}: {e}")
        finally:
            self.audit_button.disabled = False

    async def _audit_and_reload(self) -> None:
        try:
            # The pass may take minutes: the request waits in a thread, the kernel stays free.
            summary = await asyncio.to_thread(self.client.run_audit)
        except ResyncClientError as e:
            self.audit_status.value = error_html("audit", e.message)
            return
        self.last_audit = summary
        colour = WARN_COLOUR if summary.get("errors") else OK_COLOUR
        self.audit_status.value = note_html(audit_summary_text(summary), colour)
        # Show the batch the pass filed its flags into (else keep the one shown).
        wanted = summary.get("batch") or self.batch_picker.value
        try:
            queue = await asyncio.to_thread(self._read_queue, wanted)
        except ResyncClientError as e:
            self.message.value = error_html("server", e.message)
            return
        self._show_queue(queue)

    def close(self) -> None:
        """Close the HTTP client and the widgets (an audit pass already asked for goes on)."""
        if self.audit_task is not None:
            self.audit_task.cancel()
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
