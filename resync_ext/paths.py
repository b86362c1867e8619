"""Where the project's agents/, config/ and notebooks/ are: the checkout, or the installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent

#: A checkout (editable install) uses its own folders; a wheel carries them in ``_project``.
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "agents").is_dir() else _PACKAGE / "_project"
