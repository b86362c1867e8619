"""The browser tests' JupyterLab is configured as ``make run`` configures it."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def quiet_lab(base: Path) -> None:
    """Give the test server under ``base`` make run's lab config (no news toast, no update
    check): make run puts jupyter-config/ on JUPYTER_CONFIG_PATH, and the test server's config
    directory, ``base/config``, is searched the same way (labconfig/page_config.json)."""
    labconfig = base / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "jupyter-config" / "labconfig" / "page_config.json", labconfig)
