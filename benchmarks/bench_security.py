"""Security: masking and the known-issue lookup over untrusted text, and the loop during a turn.

Figures, each beside a baseline measured in the same run (CPU time of the measuring thread,
``time.thread_time``, so other processes' load does not count):

- ``security.mask.log_1mb_ms``: ``mask_secrets`` over 1 MB of ordinary job log. Baseline: one
  RE2 pass of a single literal over the same text (the floor of reading it once).
- ``security.mask.adversarial_1mb_ms``: the same over the loop-stall test's 1 MB log: shapes that
  backtracked (``x-x-x-`` near key words: seconds per 16 KB before RE2), secrets on most lines,
  62 KB lines. Baseline: the ordinary log's figure.
- ``security.known_issue.adversarial_1mb_ms``: the lookup over 1 MB of lines repeating
  ``unlink`` (quadratic before). Baseline: the lookup over 1 MB of ordinary log.
- ``security.detect_secrets.scan_line_us``: detect-secrets' own scanner (Python ``re``, every
  plugin) per log line. Baseline: Resync's masking per line (its patterns, run by RE2).
- ``security.loop.stall_1mb_log_ms``: the event loop's worst lateness while a real chat turn
  (scripted LM) reads a 1 MB adversarial job log, median of three turns (wall-clock). Baseline:
  the same turn over an ordinary three-line log.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import re2

from resync_ext.redact import mask_secrets
from resync_ext.tws.knowledge import lookup_known_issue

MB = 1 << 20
LOG_LINE = (
    "2026-12-05T06:00:01Z AWSBHT001E job PAYROLL_EXTRACT (0AAAAAAAAAAAAAAB) on CPU_A rc=12 "
    "path /opt/app/payroll_20261205.dat sha 9f86d081884c7d659a2feaa0c55ad015\n"
)


def _cpu_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up (rules compiled, caches filled)
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best * 1000


def _row(name: str, value: float, unit: str, base: float, what: str, **params: Any) -> dict:
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": round(base, 3),
        "ratio": round(value / base, 3) if base else None,
        "params": {"baseline": what, **params},
    }


def _per_line_us(quick: bool) -> tuple[float, float]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    lines = [LOG_LINE.strip(), "export DB_PASSWORD=s3cret!", "curl -u ops:Pw1 https://h/x"]
    lines *= 30 if quick else 200
    with default_settings():
        start = time.thread_time()
        for line in lines:
            list(scan_line(line))
        theirs = (time.thread_time() - start) / len(lines) * 1e6
    start = time.thread_time()
    for line in lines:
        mask_secrets(line)
    ours = (time.thread_time() - start) / len(lines) * 1e6
    return theirs, ours


def _stall_ms() -> tuple[float, float]:
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.tws.simulator.testing import run_in_thread
    from tests.security.test_loop_stall import (
        SCENARIO,
        adversarial_log,
        adversarial_scenario,
        run_turn_measuring_stall,
    )

    registry = AgentRegistry(SCENARIO.parents[3] / "config" / "runtime.json")
    registry.load()
    out = []
    for log in (adversarial_log(), "Connecting to PAYDB\nORA-01017: logon denied\naborted\n"):
        with run_in_thread(adversarial_scenario(log)) as sim:
            runs = [asyncio.run(run_turn_measuring_stall(sim, registry))[0] for _ in range(3)]
        out.append(statistics.median(runs) * 1000)  # wall-clock: the median of three turns
    return out[0], out[1]


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure the figures above (``quick``: fewer repeats)."""
    repeat = 2 if quick else 5
    log = (LOG_LINE * (MB // len(LOG_LINE) + 1))[:MB]
    from tests.security.test_loop_stall import adversarial_log

    tricky = adversarial_log(MB)
    unlink = ("unlink " * 100 + "\n") * (MB // 701)
    floor = re2.compile("NEVER-THERE")
    rows = []
    base = _cpu_ms(lambda: floor.search(log), repeat)
    plain = _cpu_ms(lambda: mask_secrets(log), repeat)
    rows.append(_row("security.mask.log_1mb_ms", plain, "ms", base, "one RE2 literal pass"))
    hard = _cpu_ms(lambda: mask_secrets(tricky), repeat)
    rows.append(_row("security.mask.adversarial_1mb_ms", hard, "ms", plain, "ordinary 1 MB log"))
    ordinary = _cpu_ms(lambda: lookup_known_issue(log, "ABEND", None, 12), repeat)
    lookup = _cpu_ms(lambda: lookup_known_issue(unlink, "ABEND", None, 12), repeat)
    rows.append(
        _row("security.known_issue.adversarial_1mb_ms", lookup, "ms", ordinary, "ordinary 1 MB log")
    )
    theirs, ours = _per_line_us(quick)
    rows.append(
        _row("security.detect_secrets.scan_line_us", theirs, "us", ours, "Resync's mask per line")
    )
    stall, calm = _stall_ms()
    rows.append(_row("security.loop.stall_1mb_log_ms", stall, "ms", calm, "same turn, 3-line log"))
    return rows
