"""One flagged memory as a card of the review panel: what was asked, answered, and judged."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.widgets.render import badge, evidence_list_html, markdown_html, note_html

Decide = Callable[[str, str, str | None], None]


def item_text(item: dict[str, Any]) -> str:
    """Everything a search may match in an item, lower-cased."""
    parts = [item.get(k) for k in ("question", "answer", "reason", "agent_id", "memory_id")]
    for e in item.get("evidence") or []:
        parts.append(str(e))
    return " ".join(str(p) for p in parts if p).lower()


def item_html(item: dict[str, Any]) -> str:
    """The card's body: question, answer, the auditor's verdict and the evidence."""
    confidence = float(item.get("confidence") or 0.0)
    verdict = str(item.get("verdict") or "?")
    return (
        f'<div class="resync-card-question"><b>Question</b>: {escape(str(item["question"]))}</div>'
        f'<div class="resync-card-answer"><b>Answer</b>:{markdown_html(str(item["answer"]))}</div>'
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
    return f"{badge(status)} by {escape(str(who))} at {escape(str(when))}{why}"


class ReviewCard(widgets.VBox):
    """A flagged memory with approve / reject buttons and an optional comment."""

    def __init__(self, item: dict[str, Any], decide: Decide) -> None:
        self.item = item
        self.memory_id = str(item["memory_id"])
        self.status = str(item.get("status") or "pending")
        self._decide = decide
        self.header = widgets.HTML(
            f"{decision_html(item)} "
            + note_html(f"agent {item.get('agent_id') or '?'} · memory {self.memory_id}")
        )
        self.body = widgets.HTML(item_html(item))
        pending = self.status == "pending"
        self.comment = widgets.Textarea(
            placeholder="Comment (optional): why approve or reject",
            rows=2,
            layout=widgets.Layout(width="auto", flex="1 1 auto"),
            disabled=not pending,
        )
        self.approve_button = widgets.Button(
            description="Approve", button_style="success", icon="check", disabled=not pending
        )
        self.reject_button = widgets.Button(
            description="Reject", button_style="danger", icon="times", disabled=not pending
        )
        self.approve_button.on_click(lambda _b: self._click("approve"))
        self.reject_button.on_click(lambda _b: self._click("reject"))
        children: list[widgets.Widget] = [self.header, self.body]
        if pending:
            children.append(widgets.HBox([self.comment, self.approve_button, self.reject_button]))
        super().__init__(
            children,
            layout=widgets.Layout(border="1px solid #ccc", padding="4px 8px", margin="6px 0"),
        )
        self.add_class("resync-card")

    def _click(self, action: str) -> None:
        # Both buttons off until the panel rebuilds the card from the server's answer.
        self.approve_button.disabled = self.reject_button.disabled = True
        self._decide(self.memory_id, action, self.comment.value.strip() or None)

    def dispose(self) -> None:
        """Close the card and its widgets (their comms live in the kernel until closed)."""
        for child in self.children:
            if isinstance(child, widgets.HBox):
                for grandchild in child.children:
                    grandchild.close()
            child.close()
        self.close()
