"""The review panel's keyboard shortcuts: a small front-end module through anywidget.

ipywidgets have no key events of their own. :class:`KeyListener` is an anywidget (a maintained
library for widgets with their own front-end module, with a prebuilt JupyterLab 4 extension)
whose few lines of JavaScript listen to the page's ``keydown`` while the pointer is over the
panel's cards, and send each shortcut key to the kernel as a dict such as ``{"event":
"keydown", "key": "j", "repeat": false, "ctrlKey": false, "target": {"tagName": "DIV"}, ...}``.

A key typed into a text box (a comment, a correction, the search) is never taken: it goes to
the box. ipyevents, the usual choice, was tried first and dropped: while the pointer is over a
watched widget it swallows every key of the page, typing into the widget's own boxes included,
and reconfiguring it while hovered left that page-wide listener behind. An open text box also
pauses the commands kernel-side (:meth:`ReviewKeys.pause`), so a key that reaches the kernel
while a correction is being written decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
from traitlets import List, Unicode

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
    return (
        f"Keys (pointer over the cards): {keys}. Typing in a text box stays there; "
        "an open comment or correction pauses them (Enter keeps a comment)."
    )


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


#: The front end: listen over the panel's cards, send shortcut keys, leave typing alone.
KEYS_ESM = """
const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
export default {
  render({ model, el }) {
    let over = false;
    const area = () => el.closest(".resync-review")?.querySelector(model.get("area"));
    const track = (e) => { over = Boolean(area()?.contains(e.target)); };
    const key = (e) => {
      const t = e.target;
      if (!over || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
      if (TYPING.has(t?.tagName) || t?.isContentEditable) return;
      if (!model.get("shortcut_keys").includes(e.key)) return;
      e.preventDefault();
      e.stopPropagation();  // JupyterLab's notebook shortcuts (j, k, a, ...) stay out of it
      model.send({
        event: "keydown", type: "keydown", key: e.key, code: e.code, repeat: e.repeat,
        altKey: e.altKey, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey,
        target: { tagName: t?.tagName ?? "", id: t?.id ?? "" },
      });
    };
    document.addEventListener("mouseover", track, true);
    window.addEventListener("keydown", key, true);
    return () => {
      document.removeEventListener("mouseover", track, true);
      window.removeEventListener("keydown", key, true);
    };
  },
};
"""


class KeyListener(anywidget.AnyWidget):
    """Send the shortcut keys pressed over the panel's cards to the kernel."""

    _esm = KEYS_ESM
    #: The keys taken from the page (any other key is left to the browser and JupyterLab).
    shortcut_keys = List(Unicode(), default_value=list(KEYS)).tag(sync=True)
    #: Selector, inside the panel, of the area the pointer must be over.
    area = Unicode(".resync-cards").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(layout={"width": "0", "height": "0"}, **kwargs)


class ReviewKeys:
    """Turn the key events of a :class:`KeyListener` into panel commands."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self._run = run
        self.listener = KeyListener()
        self.listener.on_msg(lambda _w, content, _buffers: self.handle(content))
        self.paused_by: set[str] = set()

    @property
    def paused(self) -> bool:
        """True while a text box of a card is open."""
        return bool(self.paused_by)

    def pause(self, owner: str) -> None:
        """Decide nothing by key while ``owner`` (an open text box) is open."""
        self.paused_by.add(owner)

    def resume(self, owner: str) -> None:
        """Run the keys' commands again once no text box is open."""
        self.paused_by.discard(owner)

    def handle(self, event: dict[str, Any]) -> str | None:
        """Run the command of one key event; return it (None when ignored)."""
        if self.paused:
            return None
        command = command_for(event)
        if command is not None:
            self._run(command)
        return command

    def close(self) -> None:
        """Stop listening (closes the front-end module)."""
        self.listener.close()
