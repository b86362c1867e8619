"""The reviewer's panel: work the queue of memories the auditor flagged.

The server owns the queue. The panel shows the batch it last read and re-reads it after every
decision (and on Refresh), so two reviewers, or a reloaded notebook, see the same state. Filters
and search only choose which of the server's items are shown.

**Run audit now** asks the server for an audit pass, which may take minutes (the LM judges every
new memory): the request waits in a thread under a task on the kernel's loop, so the kernel keeps
serving the panel (and the notebook) meanwhile; then the queue is re-read, showing the batch the
pass filed its flags into.

Reviewing fast: filters by agent, verdict and confidence and a sort choose the cards; the keys
(``?`` lists them) move between cards and decide, comment, correct and re-check the current one;
the bulk bar approves or rejects the selected or shown cards after one confirmation. Above the
cards: the auditor's precision, recall and κ against reviewers, and the reviewer's own count.
The actions themselves live in ``review_actions`` (the panel's mixin).
"""

from __future__ import annotations

import asyncio
import contextlib
from html import escape
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.review_client import ReviewClient
from resync_ext.kernel.widgets.render import error_html, note_html
from resync_ext.kernel.widgets.review_actions import OK_COLOUR, WARN_COLOUR, ReviewActionsMixin
from resync_ext.kernel.widgets.review_bulk import BulkBar
from resync_ext.kernel.widgets.review_card import ReviewCard
from resync_ext.kernel.widgets.review_keys import HINT, ReviewKeys
from resync_ext.kernel.widgets.review_view import (
    ALL,
    SORTS,
    decided_today,
    filter_items,
    metrics_text,
    progress_text,
    sort_items,
    verdicts_of,
)

#: What ``_read_queue`` answers: the batch list, the batch to show, its content, an error,
#: and the side reads (``{"metrics", "today"}``: the metrics, the reviewer's decisions today).
Queue = tuple[list[dict[str, Any]], str | None, dict[str, Any] | None, str | None, dict[str, Any]]


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


class ReviewPanel(ReviewActionsMixin, widgets.VBox):
    """Review batches of flagged memories: decide, correct, re-check, by key or in bulk."""

    def __init__(self, client: ResyncClient | None = None) -> None:
        self.client = client or ResyncClient()
        self.review = ReviewClient(self.client)
        self.batch: dict[str, Any] | None = None
        self.summaries: list[dict[str, Any]] = []
        self.cards: list[ReviewCard] = []
        self.current: str | None = None  # the memory the keys act on
        self.selected: set[str] = set()
        self.rechecks: dict[str, dict[str, Any]] = {}
        self.unavailable: dict[str, str] = {}
        self.limits = widgets.HTML()  # the actions this server does not offer
        self.reviewer = ""
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
        self.metrics_line = widgets.HTML()
        self.mine = widgets.HTML()
        self.pending_only = widgets.Checkbox(value=False, description="Pending only", indent=False)
        self.agent_filter = widgets.Dropdown(
            options=[("All agents", ALL)], description="Agent", layout={"width": "280px"}
        )
        self.verdict_filter = widgets.Dropdown(
            options=[("All verdicts", ALL)], description="Verdict", layout={"width": "220px"}
        )
        self.min_confidence = widgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.05,
            description="Confidence ≥",
            readout_format=".0%",
            style={"description_width": "initial"},
            continuous_update=False,
        )
        self.sort = widgets.Dropdown(options=SORTS, value="queue", description="Sort")
        self.search = widgets.Text(placeholder="Search question, answer, reason, evidence")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, bar_style="info")
        self.progress_label = widgets.HTML()
        self.archive_button = widgets.Button(
            description="Archive batch",
            icon="archive",
            button_style="primary",
            layout=widgets.Layout(display="none"),
        )
        self.bulk = BulkBar(self._bulk_ids, self.decide_many)
        self.keys_help = widgets.HTML(note_html(HINT))
        self.message = widgets.HTML()
        self.shown = widgets.HTML()
        self.cards_box = widgets.VBox()
        self.cards_box.add_class("resync-cards")
        self.shortcuts = ReviewKeys(self.run_command)
        self.batch_picker.observe(self._on_batch, names="value")
        filters = (self.pending_only, self.agent_filter, self.verdict_filter, self.min_confidence)
        for control in (*filters, self.sort, self.search):
            control.observe(lambda _c: self._render_cards(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.audit_button.on_click(lambda _b: self.run_audit())
        self.archive_button.on_click(lambda _b: self.archive())
        super().__init__(
            [
                widgets.HBox([self.batch_picker, self.refresh_button, self.audit_button]),
                self.audit_status,
                self.metrics_line,
                widgets.HBox([self.progress, self.progress_label, self.archive_button]),
                self.mine,
                widgets.HBox([self.pending_only, self.agent_filter, self.search]),
                widgets.HBox([self.verdict_filter, self.min_confidence, self.sort]),
                self.bulk,
                self.limits,
                widgets.HBox([self.keys_help, self.shortcuts.listener]),
                self.message,
                self.shown,
                self.cards_box,
            ]
        )
        self.add_class("resync-review")
        self._learn_server()
        self.refresh()

    def _learn_server(self) -> None:
        """Who decides here, and which review actions the server offers."""
        try:
            self.reviewer = self.review.whoami()
            offered = self.review.offered()
        except ResyncClientError:
            return  # refresh() shows the error; actions missing are learnt when used
        for action, ok in offered.items():
            if not ok:
                self.mark_unavailable(action)

    # -- reading the server -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the batch list, the selected batch and the metrics from the server."""
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
        batch, error = self._fetch(keep)
        return summaries, keep, batch, error, self._read_side(summaries, batch)

    def _read_side(
        self, summaries: list[dict[str, Any]], shown: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The metrics, and the reviewer's decisions today over every open batch."""
        side: dict[str, Any] = {"metrics": None, "today": 0}
        with contextlib.suppress(ResyncClientError):  # the line stays: the queue matters more
            side["metrics"] = self.review.metrics()
        items = list((shown or {}).get("items") or [])
        for summary in summaries:
            if shown is None or summary["name"] != shown.get("name"):
                other, _error = self._fetch(summary["name"])
                items += list((other or {}).get("items") or [])
        side["today"] = decided_today(items, self.reviewer)
        return side

    def _show_queue(self, queue: Queue) -> None:
        self.summaries, keep, batch, error, side = queue
        self._quiet = True
        try:
            self.batch_picker.options = [(_label(b), b["name"]) for b in self.summaries]
            self.batch_picker.value = keep
        finally:
            self._quiet = False
        if side["metrics"] is not None:
            self.metrics_line.value = note_html(metrics_text(side["metrics"]))
        left = sum(int(b.get("pending") or 0) for b in self.summaries)
        self.mine.value = f"<b>{escape(progress_text(self.reviewer, side['today'], left))}</b>"
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
        items = self._items()
        agents = sorted({str(i.get("agent_id")) for i in items if i.get("agent_id")})
        self._quiet = True
        try:
            _set_options(self.agent_filter, [("All agents", ALL), *((a, a) for a in agents)])
            _set_options(self.verdict_filter, [("All verdicts", ALL), *verdict_options(items)])
        finally:
            self._quiet = False
        self._show_progress()
        self._render_cards()

    def archive(self) -> None:
        """Archive the selected batch (the server refuses while an item is pending)."""
        name = self.batch_picker.value
        if not name:
            return
        try:
            self.client.archive(name)
            self.message.value = note_html(f"Archived {name}.", OK_COLOUR)
        except ResyncClientError as e:
            self.message.value = error_html("archive", e.message)
        self.refresh()

    # -- the audit pass ---------------------------------------------------------------------------
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
        self.shortcuts.close()
        self.client.close()
        super().close()

    # -- view -------------------------------------------------------------------------------------
    def _items(self) -> list[dict[str, Any]]:
        return list((self.batch or {}).get("items") or [])

    def visible_items(self) -> list[dict[str, Any]]:
        """The items the filters and the search let through, in the order chosen."""
        shown = filter_items(
            self._items(),
            pending_only=self.pending_only.value,
            agent=self.agent_filter.value or ALL,
            verdict=self.verdict_filter.value or ALL,
            min_confidence=self.min_confidence.value,
            search=self.search.value,
        )
        return sort_items(shown, self.sort.value)

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
        pending = {str(i["memory_id"]) for i in self._items() if i.get("status") == "pending"}
        self.selected &= pending
        self.cards = [
            ReviewCard(
                i,
                self,
                recheck=self.rechecks.get(str(i["memory_id"])),
                selected=str(i["memory_id"]) in self.selected,
            )
            for i in items
        ]
        self.cards_box.children = self.cards
        total = len(self._items())
        if total:
            self.shown.value = note_html(f"Showing {len(items)} of {total}")
        else:
            self.shown.value = note_html("No review batch is open: the auditor flagged nothing.")
        self.bulk.refresh_counts()
        self.show_current()

    def _on_batch(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.message.value = ""
            self._load(change["new"])


def _label(summary: dict[str, Any]) -> str:
    return f"{summary['name']} · {summary['pending']} pending of {summary['total']}"


def verdict_options(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The verdict filter's choices for ``items``."""
    return [(v, v) for v in verdicts_of(items)]


def _set_options(picker: widgets.Dropdown, options: list[tuple[str, str]]) -> None:
    """Replace a dropdown's choices, keeping its value when it is still one of them."""
    keep = picker.value if picker.value in {v for _l, v in options} else ALL
    picker.options = options
    picker.value = keep
