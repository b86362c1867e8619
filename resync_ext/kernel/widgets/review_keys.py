"""The review panel's keyboard shortcuts, received through ipyevents.

ipywidgets have no key events of their own; ipyevents (a maintained widget library, with a
prebuilt JupyterLab 4 extension) sends the browser's ``keydown`` events of a watched widget to
the kernel as dicts such as ``{"event": "keydown", "key": "j", "repeat": False, "ctrlKey": False,
"target": {"tagName": "DIV", ...}, ...}``.

How ipyevents listens decides the rules here: while the pointer is over the watched widget it
captures every key of the page (and stops the browser's own handling of it). So the panel
watches only its card list, and pauses the shortcuts whenever a text box of a card is open
(comment, correction): otherwise typing "a" into a correction would approve the card.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

#: key → (command, what the help line says). Commands are run by the panel.
KEYS: dict[str, tuple[str, str]] = {
    "j": ("next", "next"),
    "k": ("previous", "previous"),
    "a": ("approve", "approve"),
    "r": ("reject", "reject"),
    "c": ("comment", "comment"),
    "e": ("correct", "correct the answer"),
    "x": ("recheck", "re-check"),
    "s": ("select", "select for bulk"),
    "?": ("help", "this help"),
}
#: Commands a held-down key may repeat (moving); deciding twice by holding a key is not one.
REPEATABLE = {"next", "previous"}
#: Event targets that take text: a key pressed there was meant as typing.
TYPING_TAGS = {"INPUT", "TEXTAREA", "SELECT"}
HINT = "Keys: point at the cards and press ? for the shortcuts."


def help_text() -> str:
    """The help line: every shortcut and what it does."""
    keys = " · ".join(f"{key} {what}" for key, (_cmd, what) in KEYS.items())
    return f"Keys (pointer over the cards): {keys}. A text box open pauses them."


def command_for(event: dict[str, Any]) -> str | None:
    """The command a keydown event asks for; None for other keys, typing, chords, repeats."""
    if (event.get("event") or event.get("type")) != "keydown":
        return None
    if any(event.get(mod) for mod in ("ctrlKey", "metaKey", "altKey")):
        return None  # leave the browser's and JupyterLab's chords alone
    target = event.get("target") or {}
    if str(target.get("tagName") or "").upper() in TYPING_TAGS:
        return None
    found = KEYS.get(str(event.get("key") or ""))
    if found is None:
        return None
    command = found[0]
    if event.get("repeat") and command not in REPEATABLE:
        return None
    return command


class ReviewKeys:
    """Listen to the keys pressed over ``source`` and run the matching panel command."""

    def __init__(self, source: widgets.DOMWidget, run: Callable[[str], None]) -> None:
        from ipyevents import Event  # a front-end extension: loaded with the panel only

        self._run = run
        self.event = Event(
            source=source,
            watched_events=["keydown"],
            ignore_modifier_key_events=True,
        )
        self.event.on_dom_event(self.handle)
        self.paused_by: set[str] = set()

    @property
    def paused(self) -> bool:
        """True while a text box is open (the browser sends the keys to it)."""
        return bool(self.paused_by)

    def pause(self, owner: str) -> None:
        """Stop capturing keys while ``owner`` (an open text box) needs them."""
        self.paused_by.add(owner)
        self.event.watched_events = []

    def resume(self, owner: str) -> None:
        """Capture keys again once no text box needs them."""
        self.paused_by.discard(owner)
        if not self.paused_by:
            self.event.watched_events = ["keydown"]

    def handle(self, event: dict[str, Any]) -> str | None:
        """Run the command of one ipyevents key event; return it (None when ignored)."""
        if self.paused:  # an event already on its way when the pause began
            return None
        command = command_for(event)
        if command is not None:
            self._run(command)
        return command

    def close(self) -> None:
        """Stop listening (closes the ipyevents widget)."""
        self.event.close()
