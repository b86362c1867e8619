"""Bulk approve or reject in the review panel, with one confirmation step.

The bar acts on the pending cards the reviewer selected, or on every pending card the filters
show. Nothing is sent before the reviewer confirms the count and the action::

    [Selected (2) | Shown (7)]  comment…  [Approve…] [Reject…]
    → "Approve 7 shown items?"  [Confirm] [Cancel]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.widgets.render import note_html

#: Pending memory ids of a scope: "selected" or "shown".
IdsOf = Callable[[str], list[str]]
#: Send the decision: (memory ids, action, comment or None).
Apply = Callable[[list[str], str, str | None], None]

SCOPES = ("selected", "shown")


def bulk_summary(result: dict[str, Any], asked: int) -> tuple[str, bool]:
    """One line on a bulk decision's per-id results, and whether every id was decided."""
    rows = result.get("results")
    if isinstance(rows, dict):
        rows = [
            {"memory_id": k, **(v if isinstance(v, dict) else {"status": v})}
            for k, v in rows.items()
        ]
    rows = [r for r in rows or [] if isinstance(r, dict)]
    failed = [r for r in rows if r.get("error") or r.get("ok") is False]
    done = len(rows) - len(failed)
    text = f"Bulk: {done} of {asked} decided."
    if failed:
        reasons = "; ".join(
            f"{r.get('memory_id', '?')}: {r.get('error') or r.get('message') or 'refused'}"
            for r in failed[:3]
        )
        text += f" {len(failed)} refused ({reasons}{'…' if len(failed) > 3 else ''})."
    return text, not failed and done == asked


class BulkBar(widgets.VBox):
    """Approve or reject several pending items at once, after one confirmation."""

    def __init__(self, ids_of: IdsOf, apply: Apply) -> None:
        self._ids_of = ids_of
        self._apply = apply
        self.pending_action: tuple[str, list[str]] | None = None
        self.scope = widgets.ToggleButtons(
            options=[("Selected", "selected"), ("Shown", "shown")],
            value="selected",
            tooltips=["The cards you selected", "Every pending card the filters show"],
            style={"button_width": "110px"},
        )
        self.comment = widgets.Text(
            placeholder="Comment for all (optional)", layout=widgets.Layout(width="260px")
        )
        self.approve_button = widgets.Button(description="Approve…", icon="check-circle")
        self.reject_button = widgets.Button(description="Reject…", icon="times-circle")
        self.question = widgets.HTML()
        self.confirm_button = widgets.Button(description="Confirm", button_style="primary")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm_row = widgets.HBox(
            [self.question, self.confirm_button, self.cancel_button],
            layout=widgets.Layout(display="none"),
        )
        self.approve_button.on_click(lambda _b: self.ask("approve"))
        self.reject_button.on_click(lambda _b: self.ask("reject"))
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self._quiet = False
        self.scope.observe(lambda _c: None if self._quiet else self.cancel(), names="value")
        super().__init__(
            [
                widgets.HBox(
                    [
                        widgets.HTML("<b>Bulk</b>&nbsp;"),
                        self.scope,
                        self.comment,
                        self.approve_button,
                        self.reject_button,
                    ]
                ),
                self.confirm_row,
            ]
        )
        self.add_class("resync-bulk")

    def refresh_counts(self) -> None:
        """Say on the scope buttons how many pending items each would decide."""
        keep = self.scope.value  # new options would reset it to the first
        self._quiet = True
        try:
            self.scope.options = [
                (f"Selected ({len(self._ids_of('selected'))})", "selected"),
                (f"Shown ({len(self._ids_of('shown'))})", "shown"),
            ]
            self.scope.value = keep
        finally:
            self._quiet = False

    def disable(self, why: str) -> None:
        """Turn the bar off, saying why (a server without the bulk endpoint)."""
        for b in (self.approve_button, self.reject_button):
            b.disabled = True
            b.tooltip = why

    def ask(self, action: str) -> None:
        """Show the one confirmation: the action and how many items it decides."""
        ids = self._ids_of(self.scope.value)
        if not ids:
            self.pending_action = None
            self.question.value = note_html(f"No pending {self.scope.value} item to {action}.")
            self.confirm_button.layout.display = "none"
            self.confirm_row.layout.display = None
            return
        self.pending_action = (action, ids)
        noun = "item" if len(ids) == 1 else "items"
        self.question.value = (
            f"<b>{action.capitalize()} {len(ids)} {self.scope.value} {noun}?</b>&nbsp;"
        )
        self.confirm_button.description = f"{action.capitalize()} {len(ids)}"
        self.confirm_button.button_style = "success" if action == "approve" else "danger"
        self.confirm_button.layout.display = None
        self.confirm_row.layout.display = None

    def confirm(self) -> None:
        """Send the decision asked for, once."""
        if self.pending_action is None:
            return
        action, ids = self.pending_action
        comment = self.comment.value.strip() or None
        self.cancel()
        self._apply(ids, action, comment)

    def cancel(self) -> None:
        """Hide the confirmation; nothing is sent."""
        self.pending_action = None
        self.question.value = ""
        self.confirm_row.layout.display = "none"
