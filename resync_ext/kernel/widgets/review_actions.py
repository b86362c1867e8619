"""What the review panel does when a card, a key or the bulk bar asks: the server calls.

A mixin of :class:`~resync_ext.kernel.widgets.review_panel.ReviewPanel` (which builds the
widgets and reads the queue); it is also the :class:`~.review_card.CardActions` the cards call.
Every decision re-reads the queue from the server afterwards, so the cards show what the server
recorded, never the panel's own guess. An action the server does not offer (an older server)
is disabled on every card with a note saying so, instead of failing card after card.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resync_ext.kernel.errors import ResyncClientError
from resync_ext.kernel.review_client import ReviewClient, case_file_name, not_offered
from resync_ext.kernel.widgets.render import error_html, note_html
from resync_ext.kernel.widgets.review_bulk import bulk_summary
from resync_ext.kernel.widgets.review_card import recheck_html
from resync_ext.kernel.widgets.review_keys import HINT, help_text

if TYPE_CHECKING:
    import ipywidgets as widgets

    from resync_ext.kernel.widgets.review_bulk import BulkBar
    from resync_ext.kernel.widgets.review_card import ReviewCard
    from resync_ext.kernel.widgets.review_keys import ReviewKeys

OK_COLOUR, WARN_COLOUR = "#1b7f3b", "#b26a00"
UNAVAILABLE = {
    "correct": "this server does not take corrected answers yet",
    "bulk": "this server has no bulk review yet",
    "recheck": "this server cannot re-check an answer yet",
    "export": "this server cannot export an eval case yet",
}


class ReviewActionsMixin:
    """Decide, correct, re-check, export, bulk-decide and move between cards."""

    review: ReviewClient
    cards: list[ReviewCard]
    current: str | None
    selected: set[str]
    rechecks: dict[str, dict[str, Any]]
    unavailable: dict[str, str]
    shortcuts: ReviewKeys
    bulk: BulkBar
    message: widgets.HTML
    limits: widgets.HTML
    keys_help: widgets.HTML
    #: Where exported eval cases are written; None: the kernel's directory (the notebook's).
    export_dir: Path | None = None

    if TYPE_CHECKING:  # the panel's own

        def refresh(self) -> None: ...

    # -- what the server cannot do ----------------------------------------------------------------
    def mark_unavailable(self, action: str) -> None:
        """Disable ``action`` everywhere, with a note saying the server does not offer it."""
        why = UNAVAILABLE.get(action, f"this server does not offer {action}")
        self.unavailable[action] = why
        if action == "bulk":
            self.bulk.disable(why)
        notes = "; ".join(self.unavailable.values())
        self.limits.value = note_html(f"Not available: {notes} (buttons disabled).", WARN_COLOUR)

    def _refused(self, action: str, what: str, error: ResyncClientError) -> str:
        if not_offered(error):
            self.mark_unavailable(action)
        return error_html(what, error.message)

    # -- decisions -------------------------------------------------------------------------------
    def decide(self, memory_id: str, action: str, comment: str | None = None) -> None:
        """Approve or reject one item on the server, then re-read the batch."""
        try:
            item = self.review.decide(memory_id, action, comment)
            self.message.value = note_html(
                f"{item['status'].capitalize()}: {item['question'][:100]}", OK_COLOUR
            )
            self._advance_from(memory_id)
        except ResyncClientError as e:
            self.message.value = error_html("review", e.message)
        self.refresh()

    def correct(
        self, memory_id: str, answer: str, wrong_claim: str | None, comment: str | None
    ) -> None:
        """Store a corrected answer beside the original, then re-read the batch."""
        try:
            item = self.review.correct(memory_id, answer, wrong_claim=wrong_claim, comment=comment)
            self.message.value = note_html(
                f"Corrected: {str(item.get('question') or memory_id)[:100]}", OK_COLOUR
            )
            self._advance_from(memory_id)
        except ResyncClientError as e:
            self.message.value = self._refused("correct", "correct", e)
        self.refresh()

    def decide_many(self, memory_ids: list[str], action: str, comment: str | None) -> None:
        """Approve or reject several items in one request (the bulk bar confirmed it)."""
        try:
            result = self.review.bulk(memory_ids, action, comment)
        except ResyncClientError as e:
            self.message.value = self._refused("bulk", "bulk", e)
        else:
            text, complete = bulk_summary(result, len(memory_ids))
            self.message.value = note_html(text, OK_COLOUR if complete else WARN_COLOUR)
            self.selected -= set(memory_ids)
        self.refresh()

    # -- reading again ---------------------------------------------------------------------------
    def recheck(self, memory_id: str) -> None:
        """Re-run the turn's recorded reads against the live plan; show what changed."""
        card = self.card(memory_id)
        if "recheck" in self.unavailable:
            return
        if card is not None:
            card.recheck_out.value = note_html("Re-checking against the live plan…")
        try:
            result = self.review.recheck(memory_id)
        except ResyncClientError as e:
            if card is not None:
                card.recheck_out.value = self._refused("recheck", "re-check", e)
            return
        self.rechecks[memory_id] = result
        if card is not None:
            card.recheck_out.value = recheck_html(result)

    def export(self, memory_id: str) -> None:
        """Save the reviewed turn as a resync-eval case beside the notebook, and show it."""
        card = self.card(memory_id)
        try:
            text = self.review.export_case(memory_id)
        except ResyncClientError as e:
            shown = self._refused("export", "export", e)
        else:
            path = (self.export_dir or Path.cwd()) / case_file_name(memory_id)
            try:
                path.write_text(text, encoding="utf-8")
                where = f"Saved the eval case to <code>{escape(str(path))}</code>"
            except OSError as e:  # a read-only folder: the case is still shown to copy
                where = f"Could not save {escape(str(path))} ({escape(str(e))}); here it is"
            shown = (
                f"<details open><summary>{where}</summary>"
                f"<pre class='resync-eval-case'>{escape(text)}</pre></details>"
            )
        if card is not None:
            card.note.value = shown
        else:
            self.message.value = shown

    # -- the cards and the keys --------------------------------------------------------------------
    def card(self, memory_id: str | None) -> ReviewCard | None:
        """The card of ``memory_id`` among those shown."""
        return next((c for c in self.cards if c.memory_id == memory_id), None)

    def editing(self, owner: str, on: bool) -> None:
        """Pause the keys while a card's text box is open, resume when it closes."""
        if on:
            self.shortcuts.pause(owner)
        else:
            self.shortcuts.resume(owner)

    def select(self, memory_id: str, on: bool) -> None:
        """Add a card to (or take it from) the bulk selection."""
        if on:
            self.selected.add(memory_id)
        else:
            self.selected.discard(memory_id)
        self.bulk.refresh_counts()

    def _bulk_ids(self, scope: str) -> list[str]:
        """Pending ids of the shown cards, all of them or the selected ones."""
        shown = [c.memory_id for c in self.cards if c.pending]
        return shown if scope == "shown" else [i for i in shown if i in self.selected]

    def run_command(self, command: str) -> None:
        """Do what a key asked (see review_keys.KEYS)."""
        if command == "help":
            opened = self.keys_help.value != note_html(help_text())
            self.keys_help.value = note_html(help_text() if opened else HINT)
            return
        if command in ("next", "previous"):
            self.move(1 if command == "next" else -1)
            return
        card = self.card(self.current)
        if card is None:  # no current card yet: the first key picks the first card
            self.move(1)
            return
        do = {
            "approve": card.approve,
            "reject": card.reject,
            "comment": card.start_comment,
            "correct": card.start_correction,
            "recheck": lambda: self.recheck(card.memory_id),
            "select": card.toggle_select,
        }
        do[command]()

    def move(self, step: int) -> None:
        """Make the next (``step`` 1) or previous (-1) shown card the current one."""
        ids = [c.memory_id for c in self.cards]
        if not ids:
            return
        at = ids.index(self.current) if self.current in ids else (-1 if step > 0 else len(ids))
        self.current = ids[max(0, min(len(ids) - 1, at + step))]
        self.show_current(scroll=True)

    def show_current(self, scroll: bool = False) -> None:
        """Mark the current card (and with ``scroll``, bring it into view)."""
        for c in self.cards:
            c.show_current(c.memory_id == self.current, scroll=scroll)

    def _advance_from(self, memory_id: str) -> None:
        """After deciding the current card, the next one (else the previous) becomes current."""
        ids = [c.memory_id for c in self.cards]
        if memory_id != self.current or memory_id not in ids:
            return
        at = ids.index(memory_id)
        later, earlier = ids[at + 1 :], ids[:at]
        self.current = later[0] if later else (earlier[-1] if earlier else None)
