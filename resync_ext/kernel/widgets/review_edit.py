"""The text boxes of a review card: the comment, and the correction of the answer.

Both open on demand (a button, or the ``c`` / ``e`` key) and tell the card when they open and
close, so the panel pauses its keyboard shortcuts while the reviewer types (see review_keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from resync_ext.kernel.widgets.render import note_html

#: Called with True when a text box opens, False when it closes.
Editing = Callable[[bool], None]
#: Called with (corrected answer, which claim was wrong or None).
SaveCorrection = Callable[[str, str | None], None]

HIDDEN, SHOWN = "none", None


class CommentBox(widgets.HBox):
    """A one-line comment sent with the next decision; Enter (or Done) keeps it."""

    def __init__(self, editing: Editing) -> None:
        self._editing = editing
        self.is_open = False
        self.text = widgets.Text(
            placeholder="Comment: why approve or reject (Enter keeps it)",
            continuous_update=False,  # the value arrives on Enter or when the box loses focus
            disabled=True,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.done_button = widgets.Button(description="Done", icon="check", disabled=True)
        self.text.observe(lambda _c: self.finish(), names="value")
        self.done_button.on_click(lambda _b: self.finish())
        super().__init__(
            [self.text, self.done_button], layout=widgets.Layout(display=HIDDEN, width="100%")
        )
        self.add_class("resync-comment")

    @property
    def value(self) -> str | None:
        """The comment, or None when empty."""
        return self.text.value.strip() or None

    def start(self) -> None:
        """Show the box and put the cursor in it (the shortcuts pause meanwhile)."""
        self.layout.display = SHOWN
        self.text.disabled = self.done_button.disabled = False
        if not self.is_open:
            self.is_open = True
            self._editing(True)
        self.text.focus()

    def finish(self) -> None:
        """Keep the comment shown (read-only) and give the keys back to the panel."""
        if not self.is_open:
            return
        self.is_open = False
        self.text.disabled = self.done_button.disabled = True
        self.text.blur()
        self._editing(False)


class CorrectionEditor(widgets.VBox):
    """The answer in an editable box, with the claim that was wrong; Save posts the correction."""

    def __init__(self, answer: str, save: SaveCorrection, editing: Editing) -> None:
        self._save = save
        self._editing = editing
        self.original = answer
        self.is_open = False
        self.answer = widgets.Textarea(
            value=answer,
            rows=max(4, min(14, answer.count("\n") + 3)),
            layout=widgets.Layout(width="100%"),
        )
        self.wrong_claim = widgets.Text(
            placeholder="Which claim was wrong (optional), e.g. 'the job ended with RC 12'",
            layout=widgets.Layout(width="100%"),
        )
        self.save_button = widgets.Button(
            description="Save correction", icon="save", button_style="warning"
        )
        self.cancel_button = widgets.Button(description="Cancel", icon="undo")
        self.note = widgets.HTML()
        self.save_button.on_click(lambda _b: self.submit())
        self.cancel_button.on_click(lambda _b: self.cancel())
        super().__init__(
            [
                widgets.HTML("<b>Corrected answer</b> (Markdown):"),
                self.answer,
                self.wrong_claim,
                widgets.HBox([self.save_button, self.cancel_button, self.note]),
            ],
            layout=widgets.Layout(display=HIDDEN, width="100%"),
        )
        self.add_class("resync-correct")

    def start(self) -> None:
        """Open the editor on the answer (the shortcuts pause meanwhile)."""
        self.layout.display = SHOWN
        if not self.is_open:
            self.is_open = True
            self._editing(True)
        self.answer.focus()

    def _close(self) -> None:
        self.layout.display = HIDDEN
        if self.is_open:
            self.is_open = False
            self._editing(False)

    def cancel(self) -> None:
        """Close the editor and forget the edits."""
        self.answer.value = self.original
        self.wrong_claim.value = ""
        self.note.value = ""
        self._close()

    def submit(self) -> None:
        """Post the correction, unless it changes nothing."""
        text = self.answer.value.strip()
        if not text or text == self.original.strip():
            self.note.value = note_html("Edit the answer first: it is the same as before.")
            return
        self._close()
        self._save(text, self.wrong_claim.value.strip() or None)


def correction_of(item: dict[str, Any]) -> tuple[str | None, str | None]:
    """The corrected answer and the wrong claim of a review item, if it was corrected."""
    raw = item.get("correction")
    nested: dict[str, Any] = raw if isinstance(raw, dict) else {}
    answer = item.get("corrected_answer") or nested.get("answer")
    claim = item.get("wrong_claim") or nested.get("wrong_claim")
    return (str(answer) if answer else None), (str(claim) if claim else None)
