"""Helpers shared by the runbook notebooks (``notebooks/runbooks/``): client, checks, tables.

A runbook reads the live plan through the same read-only ``TWSClient`` and tools the agents use.
Settings come from the notebook's parameters, else from the ``RESYNC_TWS_*`` environment the
server uses, else the bundled simulator with its demo user. A step that cannot do its job raises
``RunbookError`` with a sentence an operator can act on, so a broken runbook stops (and nbval
fails) at the step that broke instead of printing an empty table further down.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from resync_ext.tws.client import TWSClient
from resync_ext.tws.tools import build_tools

DEFAULT_TWS_URL = "http://127.0.0.1:31116"


class RunbookError(RuntimeError):
    """A runbook step could not do its job (a job not in the plan, TWS unreachable...)."""


def tws_settings(url: str = "") -> dict[str, Any]:
    """Return the TWS connection settings: ``url`` if given, else RESYNC_TWS_*, else the sim."""
    env = os.environ.get
    verify = env("RESYNC_TWS_VERIFY", "true").strip().lower() not in {"0", "false", "no", "off"}
    api_key = env("RESYNC_TWS_API_KEY") or None
    return {
        "base_url": url or env("RESYNC_TWS_URL") or DEFAULT_TWS_URL,
        "user": None if api_key else env("RESYNC_TWS_USER") or "demo",
        "password": None if api_key else env("RESYNC_TWS_PASSWORD") or "demo",
        "api_key": api_key,
        "ca_bundle": env("RESYNC_TWS_CA_BUNDLE") or None,
        "verify": verify,
    }


def connect(url: str = "") -> TWSClient:
    """Return a read-only client of the plan (see ``tws_settings`` for where it points)."""
    settings = tws_settings(url)
    return TWSClient(settings.pop("base_url"), **settings)


def tools(client: TWSClient) -> dict[str, Any]:
    """Return the read-only agent tools bound to ``client``, keyed by name."""
    return build_tools(client)


def check(result: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """Return a tool's answer, or raise ``RunbookError`` naming ``what`` failed and why."""
    error = result.get("error") if isinstance(result, Mapping) else None
    if error:
        kind = error.get("kind", "error") if isinstance(error, Mapping) else "error"
        message = error.get("message", error) if isinstance(error, Mapping) else error
        raise RunbookError(f"{what}: {message} ({kind})")
    return result


def frame(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> Any:
    """Return a pandas DataFrame of ``rows`` with exactly ``columns`` (empty rows allowed)."""
    import pandas as pd

    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)


def bullet_list(lines: Iterable[str], empty: str = "none") -> str:
    """Return Markdown bullets for ``lines``, or ``empty`` in italics when there are none."""
    items = [f"- {line}" for line in lines]
    return "\n".join(items) if items else f"_{empty}_"
