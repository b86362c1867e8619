"""Server start with the Resync extension vs a plain ``jupyter server``.

Measures the wall time from launching the process to the first 200 from ``/api/status``, the
moment a user can work. Target: the extension adds less than 1 s (heavy imports are lazy).
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_once(with_extension: bool, tmp: Path) -> float:
    port, token = _free_port(), secrets.token_hex(16)
    enabled = "True" if with_extension else "False"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp}",
        f"--ServerApp.jpserver_extensions={{'resync_ext': {enabled}}}",
        f"--ResyncApp.data_dir={tmp / 'data'}",
        "--ResyncApp.open_memory=False",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/status"
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        while time.perf_counter() - t0 < 60:
            try:
                with urllib.request.urlopen(req, timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("server did not start within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Alternate plain and extension starts; report the medians and their difference."""
    rounds = 2 if quick else 5
    plain: list[float] = []
    ext: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _start_once(False, tmp)  # warm the OS file cache so the first sample is not special
        for _ in range(rounds):
            plain.append(_start_once(False, tmp))
            ext.append(_start_once(True, tmp))
    p, e = statistics.median(plain), statistics.median(ext)
    params = {"rounds": rounds, "target": "extension adds < 1 s"}
    return [
        {
            "name": "server_start_with_resync",
            "value": round(e, 3),
            "unit": "s",
            "baseline": round(p, 3),
            "ratio": round(e / p, 2),
            "params": params,
        },
        {
            "name": "server_start_added_by_resync",
            "value": round(e - p, 3),
            "unit": "s",
            "baseline": 1.0,
            "ratio": round((e - p) / 1.0, 2),
            "params": params,
        },
    ]
