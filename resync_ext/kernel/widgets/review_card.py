"""One flagged memory as a card of the review panel: what was asked, answered, and judged.

A pending card decides (approve, reject, each with an optional comment) or corrects the answer;
any card can be re-checked against the live plan and exported as an evaluation case. The card
only shows and asks: every action goes through the panel (:class:`CardActions`), which talks to
the server and rebuilds the cards from its answer.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any, Protocol

import ipywidgets as widgets

from resync_ext.kernel.widgets.render import answer_html as answer_text_html
from resync_ext.kernel.widgets.render import badge, evidence_list_html, note_html
from resync_ext.kernel.widgets.review_edit import CommentBox, CorrectionEditor, correction_of

CURRENT_BORDER, PLAIN_BORDER = "2px solid #1565c0", "1px solid #ccc"


class CardActions(Protocol):
    """What a card asks of its panel."""

    #: action → why the server cannot do it (its button is disabled with that note).
    unavailable: dict[str, str]

    def decide(self, memory_id: str, action: str, comment: str | None = None) -> None: ...

    def correct(
        self, memory_id: str, answer: str, wrong_claim: str | None, comment: str | None
    ) -> None: ...

    def recheck(self, memory_id: str) -> None: ...

    def export(self, memory_id: str) -> None: ...

    def editing(self, owner: str, on: bool) -> None: ...

    def select(self, memory_id: str, on: bool) -> None: ...


def item_text(item: dict[str, Any]) -> str:
    """Everything a search may match in an item, lower-cased."""
    parts = [item.get(k) for k in ("question", "answer", "reason", "agent_id", "memory_id")]
    parts.append(correction_of(item)[0])
    for e in item.get("evidence") or []:
        parts.append(str(e))
    return " ".join(str(p) for p in parts if p).lower()


def answer_html(item: dict[str, Any]) -> str:
    """The answer; once corrected, the corrected answer first and the original below it."""
    original = answer_text_html(str(item.get("answer") or ""))
    corrected, claim = correction_of(item)
    if corrected is None:
        return f'<div class="resync-card-answer"><b>Answer</b>:{original}</div>'
    wrong = f"<div><b>Wrong claim</b>: {escape(claim)}</div>" if claim else ""
    return (
        f'<div class="resync-card-corrected"><b>Corrected answer</b>:'
        f"{answer_text_html(corrected)}</div>{wrong}"
        f'<div class="resync-card-answer" style="opacity:.75"><b>Original answer</b>:'
        f"{original}</div>"
    )


def item_html(item: dict[str, Any]) -> str:
    """The card's body: question, answer, the auditor's verdict and the evidence."""
    confidence = float(item.get("confidence") or 0.0)
    verdict = str(item.get("verdict") or "?")
    return (
        f'<div class="resync-card-question"><b>Question</b>: {escape(str(item["question"]))}</div>'
        f"{answer_html(item)}"
        f'<div class="resync-card-verdict"><b>Auditor</b>: {badge(verdict)} '
        f"confidence {confidence:.0%} — {escape(str(item.get('reason') or ''))}</div>"
        f"{evidence_list_html(list(item.get('evidence') or []))}"
    )


def decision_html(item: dict[str, Any]) -> str:
    """Who decided what, when and why; or that it is still pending."""
    status = str(item.get("status") or "pending")
    if status == "pending":
        return badge("pending")
    who = item.get("decided_by") or "?"
    when = item.get("decided_at") or "?"
    comment = item.get("comment")
    why = f" — “{escape(str(comment))}”" if comment else ""
    corrected = f" {badge('corrected', 'approved')}" if correction_of(item)[0] else ""
    return f"{badge(status)}{corrected} by {escape(str(who))} at {escape(str(when))}{why}"


def clock(stamp: Any) -> str | None:
    """``HH:MM`` of an ISO 8601 time (UTC as the server writes it), None if there is none."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).strftime("%H:%M")
    except ValueError:
        return None


def recheck_html(result: dict[str, Any]) -> str:
    """What the live plan says differently now from what the answer saw."""
    changes = [c for c in result.get("changes") or [] if isinstance(c, dict)]
    since = next(
        (t for t in map(clock, (result.get(k) for k in ("since", "answered_at", "at"))) if t),
        None,
    )
    if not changes:
        when = f"since {since}" if since else "since the answer"
        return note_html(f"Re-checked: nothing changed {when}.", "#1b7f3b")
    rows = "".join(
        f"<li><b>{escape(str(c.get('what') or '?'))}</b>: {escape(str(c.get('then')))} → "
        f"<b>{escape(str(c.get('now')))}</b></li>"
        for c in changes
    )
    head = f"Changed since {since}" if since else "Changed since the answer"
    return (
        f'<div class="resync-recheck" style="border-left:3px solid #b26a00;padding-left:6px">'
        f"⚠ <b>{head}</b> (re-read from the live plan):<ul>{rows}</ul></div>"
    )


class ReviewCard(widgets.VBox):
    """A flagged memory with its decision, correction, re-check and export buttons."""

    def __init__(
        self,
        item: dict[str, Any],
        actions: CardActions,
        *,
        recheck: dict[str, Any] | None = None,
        selected: bool = False,
    ) -> None:
        self.item = item
        self.memory_id = str(item["memory_id"])
        self.status = str(item.get("status") or "pending")
        self.actions = actions
        pending = self.pending
        self.select_button = widgets.ToggleButton(
            value=selected and pending,
            description="Select",
            icon="check-square" if selected and pending else "square",
            tooltip="Select for a bulk approve or reject (key s)",
            disabled=not pending,
            layout=widgets.Layout(width="90px"),
        )
        self.select_button.observe(self._on_select, names="value")
        self.header = widgets.HTML(
            f"{decision_html(item)} "
            + note_html(f"agent {item.get('agent_id') or '?'} · memory {self.memory_id}")
        )
        self.body = widgets.HTML(item_html(item))
        self.recheck_out = widgets.HTML(recheck_html(recheck) if recheck else "")
        self.note = widgets.HTML()
        self.comment_box = CommentBox(lambda on: actions.editing(f"{self.memory_id}/comment", on))
        self.comment = self.comment_box.text  # the comment sent with approve / reject
        self.editor = CorrectionEditor(
            str(item.get("answer") or ""),
            self._save_correction,
            lambda on: actions.editing(f"{self.memory_id}/correct", on),
        )
        self.approve_button = self._button("Approve", "check", "approve", "success", pending)
        self.reject_button = self._button("Reject", "times", "reject", "danger", pending)
        self.comment_button = self._button("Comment", "comment", "comment", "", pending)
        self.correct_button = self._button("Correct", "pencil", "correct", "warning", pending)
        self.recheck_button = self._button("Re-check", "refresh", "recheck", "", True)
        self.export_button = self._button("Export as eval case", "download", "export", "", True)
        self.approve_button.on_click(lambda _b: self._click("approve"))
        self.reject_button.on_click(lambda _b: self._click("reject"))
        self.comment_button.on_click(lambda _b: self.start_comment())
        self.correct_button.on_click(lambda _b: self.start_correction())
        self.recheck_button.on_click(lambda _b: self.actions.recheck(self.memory_id))
        self.export_button.on_click(lambda _b: self.actions.export(self.memory_id))
        buttons = [self.approve_button, self.reject_button, self.comment_button]
        buttons += [self.correct_button, self.recheck_button, self.export_button]
        children: list[widgets.Widget] = [
            widgets.HBox([self.select_button, self.header]),
            self.body,
            self.recheck_out,
            self.comment_box,
            self.editor,
            widgets.HBox(buttons, layout=widgets.Layout(flex_flow="row wrap")),
            self.note,
        ]
        super().__init__(
            children,
            layout=widgets.Layout(border=PLAIN_BORDER, padding="4px 8px", margin="6px 0"),
        )
        self.add_class("resync-card")
        self.add_class(f"resync-card-{self.status}")

    @property
    def pending(self) -> bool:
        """True while no reviewer has decided the item."""
        return self.status == "pending"

    def _button(
        self, label: str, icon: str, action: str, style: str, enabled: bool
    ) -> widgets.Button:
        why = self.actions.unavailable.get(action)
        return widgets.Button(
            description=label,
            icon=icon,
            button_style=style,
            disabled=not enabled or why is not None,
            tooltip=why or "",
        )

    # -- what the keys and buttons do --------------------------------------------------------------
    def _click(self, action: str) -> None:
        if not self.pending:
            return
        # Every decision button off until the panel rebuilds the card from the server's answer.
        for b in (self.approve_button, self.reject_button, self.correct_button):
            b.disabled = True
        self.comment_box.finish()
        self.actions.decide(self.memory_id, action, self.comment_box.value)

    def approve(self) -> None:
        """Approve with the comment typed, if any."""
        if not self.approve_button.disabled:
            self._click("approve")

    def reject(self) -> None:
        """Reject with the comment typed, if any."""
        if not self.reject_button.disabled:
            self._click("reject")

    def start_comment(self) -> None:
        """Open the comment box (pending cards only)."""
        if self.pending:
            self.comment_box.start()

    def start_correction(self) -> None:
        """Open the correction editor on the answer (pending cards only)."""
        if self.pending and not self.correct_button.disabled:
            self.editor.start()

    def toggle_select(self) -> None:
        """Select or unselect the card for a bulk decision (pending cards only)."""
        if self.pending:
            self.select_button.value = not self.select_button.value

    def _on_select(self, change: dict[str, Any]) -> None:
        self.select_button.icon = "check-square" if change["new"] else "square"
        self.actions.select(self.memory_id, bool(change["new"]))

    def _save_correction(self, answer: str, wrong_claim: str | None) -> None:
        for b in (self.approve_button, self.reject_button, self.correct_button):
            b.disabled = True
        self.actions.correct(self.memory_id, answer, wrong_claim, self.comment_box.value)

    def show_current(self, on: bool, scroll: bool = False) -> None:
        """Mark the card the keys act on (with ``scroll``, bring it into view)."""
        self.layout.border = CURRENT_BORDER if on else PLAIN_BORDER
        if on:
            self.add_class("resync-card-current")
        else:
            self.remove_class("resync-card-current")
        if on and scroll:
            # Focusing a button scrolls the page to the card; a decided card's select is off.
            target = self.recheck_button if self.select_button.disabled else self.select_button
            target.focus()

    def dispose(self) -> None:
        """Close the card and its widgets (their comms live in the kernel until closed)."""
        if self.comment_box.is_open:
            self.comment_box.finish()
        if self.editor.is_open:
            self.editor.cancel()
        for child in self._tree():
            child.close()
        self.close()

    def _tree(self) -> list[widgets.Widget]:
        found: list[widgets.Widget] = []
        todo: list[widgets.Widget] = list(self.children)
        while todo:
            w = todo.pop()
            found.append(w)
            todo.extend(getattr(w, "children", ()) or ())
        return found
