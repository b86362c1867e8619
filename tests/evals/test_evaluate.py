"""resync-eval itself: grading, exit status, JSON report (with the evidence-echo scripted LM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resync_ext.agents.evaluate import collect, grade, main

CASES = Path(__file__).parent / "cases"


def test_grade_checks_every_kind_of_expectation() -> None:
    expect = {
        "mentions": ["PAYROLL_EXTRACT"],
        "any_of": [["password", "credential"]],
        "must_not": ["rerun succeeded"],
        "tools": ["get_job_log"],
    }
    assert grade("payroll_extract: bad Password", ["get_job_log"], expect) == []
    problems = grade("Rerun succeeded.", ["get_job"], expect)
    assert problems == [
        "missing 'PAYROLL_EXTRACT'",
        "none of ['password', 'credential']",
        "says 'rerun succeeded'",
        "tool get_job_log not called",
    ]


def test_collect_finds_the_bundled_cases_but_not_scenarios() -> None:
    files = collect([str(Path(__file__).parent)])
    assert len(files) >= 20
    assert all("scenarios" not in f.parts for f in files)


def test_main_passes_bundled_cases_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = main(
        [
            str(CASES / "01_r1_db_credentials.yaml"),
            str(CASES / "16_analyzer_at_risk.yaml"),
            "--lm",
            "echo",
            "--json",
            str(out),
            "--data-dir",
            str(tmp_path),
        ]
    )
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed[0].startswith("PASS 01_r1_db_credentials [tws-troubleshooter]")
    assert printed[-1] == "2 passed, 0 failed"
    report = json.loads(out.read_text())
    assert report["passed"] == 2 and "get_job_log" in report["cases"][0]["tools"]


def test_main_fails_when_a_case_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "impossible.yaml"
    case.write_text(
        f"scenario: {CASES.parent / 'scenarios' / 'quiet_night.yaml'}\n"
        "question: What failed tonight?\nagent: tws-analyzer\n"
        "expect: {mentions: [PAYROLL_EXTRACT]}\n"
    )
    assert main([str(case), "--lm", "echo", "--data-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL impossible") and "missing 'PAYROLL_EXTRACT'" in lines[0]
    assert lines[-1] == "0 passed, 1 failed"
