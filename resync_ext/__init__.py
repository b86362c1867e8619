"""Resync Workbench: a Jupyter server extension for HCL Workload Automation operators."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell Jupyter Server where the extension app lives."""
    from resync_ext.app import ResyncApp

    return [{"module": "resync_ext.app", "app": ResyncApp}]
