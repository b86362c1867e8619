"""Report run time: the audit report and the morning checklist run by papermill, per plan.

Each run goes through ``ReportRunner`` exactly as the server runs it (a separate process: the
kernel start, papermill, the notebook, the HTML export). The baseline is an empty template run the
same way in the same session: the fixed cost of a kernel and the export, so ``value - baseline``
is what the report itself costs. The report calls back a real ``jupyter server`` with the
extension (memory closed: the report says so and carries on) and reads the ``demo`` (~280 jobs)
and ``bulk`` (52 000 jobs) plans from the simulator.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from resync_ext.reports.runner import ReportRunner
from resync_ext.tws.simulator.testing import run_in_thread

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(tmp: Path, tws_url: str) -> Iterator[tuple[str, str]]:
    """A jupyter server with the extension on loopback; yields its URL and token."""
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp}",
        f"--ResyncApp.data_dir={tmp / 'server-data'}", f"--ResyncApp.tws_url={tws_url}",
        "--ResyncApp.open_memory=False", "--ResyncApp.report_cron=",
        "--ResyncApp.audit_interval_min=0",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        req = urllib.request.Request(
            url + "api/status", headers={"Authorization": f"token {token}"}
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(req, timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("jupyter server did not start within 60 s") from None
                time.sleep(0.1)
        yield url, token
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _empty_template(folder: Path) -> None:
    params = new_code_cell("report_name = ''")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell("pass")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "empty.ipynb")


def _time_run(runner: ReportRunner, notebook: str) -> float:
    async def once() -> float:
        t0 = time.perf_counter()
        started = await runner.start(notebook)
        final = await runner.wait(started["name"])
        if final["status"] != "done":
            raise RuntimeError(f"{notebook} failed: {final.get('error')}")
        return time.perf_counter() - t0

    return asyncio.run(once())


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Time the empty template, the audit report and the morning checklist on demo and bulk."""
    rounds = 1 if quick else 3
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nbs = tmp / "notebooks"
        (nbs / "runbooks").mkdir(parents=True)
        _empty_template(nbs)
        for name in ("audit_report.ipynb", "runbooks/morning_checklist.ipynb"):
            (nbs / name).write_bytes((REPO / "notebooks" / name).read_bytes())
        for plan in ("demo", "bulk"):
            with run_in_thread(plan) as sim, _server(tmp, sim.url) as (url, token):
                runner = ReportRunner(
                    tmp / f"data-{plan}",
                    nbs,
                    connection=lambda url=url, token=token: (url, token),  # type: ignore[misc]
                    tws={"url": sim.url, "user": sim.user, "password": sim.password},
                    keep=100,
                )
                _time_run(runner, "empty")  # warm the kernel's imports and the file cache
                samples: dict[str, list[float]] = {
                    "empty": [],
                    "audit_report": [],
                    "runbooks/morning_checklist": [],
                }
                for _ in range(rounds):
                    for notebook, times in samples.items():
                        times.append(_time_run(runner, notebook))
            base = statistics.median(samples["empty"])
            for notebook in ("audit_report", "runbooks/morning_checklist"):
                value = statistics.median(samples[notebook])
                results.append(
                    {
                        "name": f"report_run_{notebook.split('/')[-1]}_{plan}",
                        "value": round(value, 2),
                        "unit": "s",
                        "baseline": round(base, 2),
                        "ratio": round(value / base, 2),
                        "params": {
                            "plan": plan,
                            "rounds": rounds,
                            "baseline": "empty notebook through the same runner (kernel start)",
                        },
                    }
                )
    return results
