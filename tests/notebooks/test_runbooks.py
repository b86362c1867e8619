"""The runbooks, run top to bottom by nbval against the simulator's demo plan.

Each runbook is executed in a fresh kernel by ``pytest --nbval-lax`` in a subprocess: every cell
must run without error, and the cells marked ``# NBVAL_CHECK_OUTPUT`` must print what they printed
when the notebook was saved (after config/nbval_sanitize.cfg replaced times, ids and durations).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from resync_ext.tws.simulator.testing import run_in_thread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO / "notebooks" / "runbooks"
SANITIZE = REPO / "config" / "nbval_sanitize.cfg"
EXPECTED = {"abend_triage", "workstation_health", "sla_risk", "morning_checklist"}


def run_nbval(tws_url: str, *paths: Path, timeout: float = 110.0) -> tuple[dict[str, int], str]:
    """Run nbval on ``paths`` in a subprocess; return the summary counts and the output."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        # The project's ini (pyproject.toml) is for tests/: testpaths, asyncio mode and
        # filterwarnings=error would turn the kernel's and jupyter_client's own deprecation
        # warnings into failures that say nothing about the runbooks. -c /dev/null runs with no
        # ini at all; the options the runbooks need are given here explicitly instead.
        "-c",
        os.devnull,
        "--rootdir",
        str(REPO),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-W",
        "ignore::DeprecationWarning",
        "--nbval-lax",
        "--nbval-current-env",  # the kernel is this interpreter, whatever kernelspecs say
        "--nbval-cell-timeout=60",
        "--nbval-sanitize-with",
        str(SANITIZE),
        *(str(p) for p in paths),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESYNC_")}
    env |= {"RESYNC_TWS_URL": tws_url, "RESYNC_TWS_USER": "demo", "RESYNC_TWS_PASSWORD": "demo"}
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    counts = {
        word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors)", summary)
    }
    assert counts, f"no pytest summary line in the nbval output:\n{output[-3000:]}"
    return counts, output


def test_every_runbook_is_there_with_a_parameters_cell_and_a_conclusion() -> None:
    found = {p.stem for p in RUNBOOKS.glob("*.ipynb")}
    assert found >= EXPECTED
    for path in RUNBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert any("parameters" in t for t in tags), f"{path.name}: no cell tagged parameters"
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: does not start by explaining"
        headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
        assert headings[-1].strip() == "## Conclusion", f"{path.name}: no conclusion at the end"
        assert nb.cells[-1].cell_type == "code", f"{path.name}: the conclusion cell is missing"
        checked = [c for c in nb.cells if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
        assert checked and all(c.outputs for c in checked), f"{path.name}: no stored outputs"


def test_runbooks_pass_nbval_against_the_demo_plan() -> None:
    with run_in_thread("demo") as sim:
        counts, output = run_nbval(sim.url, RUNBOOKS)
        calls = sim.calls()
    assert counts.get("failed", 0) == 0 and counts.get("error", 0) + counts.get("errors", 0) == 0, (
        output[-4000:]
    )
    cells = sum(
        sum(1 for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
        for p in RUNBOOKS.glob("*.ipynb")
    )
    assert counts["passed"] == cells, output[-2000:]
    # They read the live plan, and only read it.
    assert any(c["path"].endswith("/joblog") for c in calls)
    assert {c["method"] for c in calls} == {"GET"}


def test_a_runbook_fails_when_the_plan_lacks_its_job() -> None:
    """The same command fails, at the step that broke, when the job is not in the plan."""
    scenario = {
        "name": "no-payroll",
        "now": "2026-11-24T07:30:00Z",
        "engine": {"version": "10.2.5", "timezone": "Europe/Rome"},
        "workstations": [{"name": "AGT_LNX01", "type": "AGENT"}],
        "job_streams": [
            {
                "name": "OTHER",
                "sched_time": "2026-11-24T01:00:00Z",
                "defaults": {"workstation": "AGT_LNX01"},
                "jobs": [{"name": "SOMETHING_ELSE"}],
            }
        ],
    }
    with run_in_thread(scenario) as sim:
        counts, output = run_nbval(sim.url, RUNBOOKS / "abend_triage.ipynb")
    assert counts.get("failed", 0) >= 1, output[-3000:]
    assert "no job or job stream named 'PAYROLL_EXTRACT'" in output
