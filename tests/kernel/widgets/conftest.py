"""One real Resync server for the widget tests (a subprocess, as a kernel's server would be)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kernel.widgets.server import LM_JUDGE, RunningServer, resync_server


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Jupyter Server with Resync, the demo simulator and the loopback LM (the judge too)."""
    with resync_server(tmp_path_factory.mktemp("resync-server"), extra=LM_JUDGE) as running:
        yield running
