"""resync-eval itself: grading (expectations, grounding, degeneracy), the bundled cases and
scenarios, history turns, the per-tag report, --sequence (with the evidence-echo scripted LM)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from resync_ext.evaluation.cases import TAGS, Case, collect, load_case
from resync_ext.evaluation.cli import main
from resync_ext.evaluation.grade import grade, grounding_check
from resync_ext.evaluation.night import Turn
from resync_ext.evaluation.report import percentile
from resync_ext.evaluation.run import run_case
from resync_ext.tws.simulator.plan import Plan
from resync_ext.tws.simulator.scenario import load_scenario

HERE = Path(__file__).parent
CASES = HERE / "cases"
SCENARIOS = HERE / "scenarios"

EVIDENCE = [
    'get_job({"job": "FIN_AP_EXTRACT"}): FIN_AP_EXTRACT (stream FIN_SUBLEDGER, workstation '
    "FIN_AGT01) is ERROR (ABEND), return code 8, ended 2026-11-30T21:03:12Z.",
    'get_job_log({"job": "FIN_SUBLEDGER.FIN_AP_EXTRACT"}): Log of FIN_AP_EXTRACT: '
    "ORA-12541: TNS:no listener.",
]


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


def test_grounding_passes_an_answer_drawn_from_the_evidence() -> None:
    answer = "FIN_AP_EXTRACT abended with return code 8: ORA-12541 (no listener) on FIN_AGT01."
    checked, ungrounded = grounding_check(answer, EVIDENCE, "Why did FIN_AP_EXTRACT fail?")
    assert checked >= 4 and ungrounded == []
    assert grade(answer, [], {}, evidence=EVIDENCE) == []


def test_grounding_catches_a_planted_job_name_and_error_code() -> None:
    answer = "FIN_AR_EXTRACT abended with ORA-01017 (invalid password); fix FIN_AP_EXTRACT's login."
    _, ungrounded = grounding_check(answer, EVIDENCE, "Why did FIN_AP_EXTRACT fail?")
    assert any("FIN_AR_EXTRACT" in u for u in ungrounded)
    assert any("ORA-01017" in u for u in ungrounded)
    assert not any("FIN_AP_EXTRACT" in u for u in ungrounded)
    problems = grade(answer, [], {}, evidence=EVIDENCE)
    assert sum(p.startswith("ungrounded ") for p in problems) == 2


def test_grounding_catches_a_planted_return_code_and_time() -> None:
    question = "Why did FIN_AP_EXTRACT fail?"
    assert grounding_check("It ended with return code 8 at 21:03 UTC.", EVIDENCE, question)[1] == []
    _, ungrounded = grounding_check(
        "It ended with return code 12 at 22:15 UTC.", EVIDENCE, question
    )
    assert ungrounded == ["return_code 'return code 12'", "time '22:15'"]


def test_a_name_in_the_question_counts_as_grounded() -> None:
    _, ungrounded = grounding_check("FIN_TAX_PROVISION is not in the plan.", EVIDENCE, "")
    assert ungrounded
    _, ungrounded = grounding_check(
        "FIN_TAX_PROVISION is not in the plan.", EVIDENCE, "Why did FIN_TAX_PROVISION fail?"
    )
    assert ungrounded == []


def test_grade_catches_a_degenerate_answer() -> None:
    looping = "FIN_REG_FILING waits for FIN_BALANCE_SHEET" + (
        ", which is held by job FIN_AP_EXTRACT" * 8
    )
    assert "degenerate: a phrase repeated over and over" in grade(looping, [], {})
    chain = (
        "FIN_REG_FILING waits for FIN_BALANCE_SHEET, which waits for FIN_GL_CLOSE, which waits "
        "for FIN_GL_RECON, which waits for FIN_AP_EXTRACT; that job abended with ORA-12541."
    )
    assert grade(chain, [], {}) == []


class FakeNight:
    """Answers each question with a prepared turn (no simulator, no LM)."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.asked: list[str] = []

    async def ask(self, agent_id: str, question: str, conversation: str) -> Turn:
        self.asked.append(question)
        return self.turns[len(self.asked) - 1]


def _turn(answer: str, evidence: list[dict[str, Any]]) -> Turn:
    return Turn(answer, evidence, [e["tool"] for e in evidence], 0.5, [], None, None, [])


def _case(tmp_path: Path, history: list[str], expect: dict[str, Any]) -> Case:
    return Case(
        tmp_path / "c.yaml",
        {},
        "Is the FIN_AP_PAYMENTS stream ok?",
        None,
        ["control-healthy"],
        history,
        expect,
    )


def test_history_is_asked_first_and_only_the_last_answer_is_graded(tmp_path: Path) -> None:
    first = _turn(
        "FIN_AP_EXTRACT abended: ORA-12541.",
        [{"tool": "get_job", "args": {"job": "FIN_AP_EXTRACT"}, "summary": EVIDENCE[0]}],
    )
    second = _turn(
        "FIN_AP_PAYMENTS succeeded.",
        [{"tool": "list_job_streams", "args": {}, "summary": "FIN_AP_PAYMENTS is SUCCESSFUL."}],
    )
    night = FakeNight([first, second])
    case = _case(tmp_path, ["Why did FIN_AP_EXTRACT fail?"], {"must_not": ["ORA-12541"]})
    result = asyncio.run(run_case(night, case, None))
    assert night.asked == ["Why did FIN_AP_EXTRACT fail?", case.question]
    assert result.passed and result.answer == "FIN_AP_PAYMENTS succeeded."
    assert result.turn_seconds == [0.5, 0.5]


def test_earlier_turns_evidence_grounds_a_follow_up_but_nothing_else_does(tmp_path: Path) -> None:
    first = _turn(
        "FIN_AP_EXTRACT abended.",
        [{"tool": "get_job", "args": {"job": "FIN_AP_EXTRACT"}, "summary": EVIDENCE[0]}],
    )
    leak = _turn("FIN_AP_PAYMENTS failed like FIN_AP_EXTRACT with ORA-12541.", [])
    result = asyncio.run(run_case(FakeNight([first, leak]), _case(tmp_path, ["Why?"], {}), None))
    # FIN_AP_EXTRACT is in the earlier turn's evidence; ORA-12541 is in no evidence at all.
    assert result.ungrounded == ["code 'ORA-12541'"]
    assert not result.passed and "ungrounded code 'ORA-12541'" in result.problems
    alone = asyncio.run(run_case(FakeNight([leak]), _case(tmp_path, [], {}), None))
    assert {"name 'FIN_AP_EXTRACT'", "code 'ORA-12541'"} <= set(alone.ungrounded)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.9) == 0.0
    assert percentile([float(x) for x in range(1, 11)], 0.9) == 9.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_collect_finds_the_bundled_cases_but_not_scenarios() -> None:
    files = collect([str(HERE)])
    assert all("scenarios" not in f.parts for f in files)
    assert len(files) >= 100


def test_bundled_cases_cover_100_cases_8_scenarios_and_every_tag() -> None:
    cases = [load_case(f) for f in collect([str(CASES)])]
    assert len(cases) >= 100
    assert len({c.scenario_key for c in cases}) >= 8
    assert all(c.tags and set(c.tags) <= TAGS for c in cases)
    assert {t for c in cases for t in c.tags} == TAGS
    assert sum(bool(c.history) for c in cases) >= 5
    # Every control case says what the answer must not contain.
    assert all(c.expect.get("must_not") for c in cases if "control-unknown" in c.tags)


def test_load_case_rejects_an_unknown_tag(tmp_path: Path) -> None:
    case = tmp_path / "bad.yaml"
    case.write_text("scenario: {}\nquestion: Why?\ntags: [root-cause, rot-cause]\n")
    with pytest.raises(ValueError, match="rot-cause"):
        load_case(case)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_scenario_loads_in_the_simulator(path: Path) -> None:
    plan = Plan(load_scenario(path))
    assert plan.jobs


_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


def test_names_the_cases_expect_exist_in_their_scenario() -> None:
    """A typo in a case's expected name would make it fail for every agent."""
    nights: dict[str, str] = {}
    for case in map(load_case, collect([str(CASES)])):
        if case.scenario_key not in nights:
            # Plan objects, and names a job log mentions (a tablespace, say).
            nights[case.scenario_key] = load_scenario(case.scenario).model_dump_json()
        expected = [*case.expect.get("mentions", [])]
        expected += [n for group in case.expect.get("any_of", []) for n in group]
        for name in filter(_NAME.match, expected):
            # A control-unknown case names, in its question, what is not in the plan.
            if name in case.question and "control-unknown" in case.tags:
                continue
            assert name in nights[case.scenario_key], f"{case.name}: {name} not in its scenario"


def test_main_prints_cases_tag_table_and_times_then_the_count(
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
    assert printed[2] == "pass rate per tag:"
    assert re.match(r"  deadline +1/1 +100\.0%", printed[3])
    assert any(re.match(r"grounding: 0 ungrounded of \d+ claims", line) for line in printed)
    assert any(
        re.match(r"seconds per turn: median [\d.]+, p90 [\d.]+ \(2 turns\)", x) for x in printed
    )
    assert printed[-1] == "2 passed, 0 failed"
    report = json.loads(out.read_text())
    assert report["passed"] == 2 and "get_job_log" in report["cases"][0]["tools"]
    assert report["cases"][0]["tags"] == ["root-cause"]
    assert report["by_tag"]["summary"] == {"passed": 1, "total": 1}
    assert report["ungrounded_claims"] == 0 and report["degenerate_answers"] == 0
    assert report["turn_seconds"]["turns"] == 2


def test_main_fails_when_a_case_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "impossible.yaml"
    case.write_text(
        f"scenario: {SCENARIOS / 'quiet_night.yaml'}\n"
        "question: What failed tonight?\nagent: tws-analyzer\ntags: [summary]\n"
        "expect: {mentions: [PAYROLL_EXTRACT]}\n"
    )
    assert main([str(case), "--lm", "echo", "--data-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL impossible") and "missing 'PAYROLL_EXTRACT'" in lines[0]
    assert "  summary            0/1     0.0%" in lines
    assert lines[-1] == "0 passed, 1 failed"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_bundled_case_runs_grounded_with_the_echo_lm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The evidence run: each case is asked (history first) without crashing; the echo LM's
    answers are the evidence itself, so none may be ungrounded or degenerate."""
    out = tmp_path / "all.json"
    main([str(CASES), "--lm", "echo", "--json", str(out), "--data-dir", str(tmp_path)])
    report = json.loads(out.read_text())
    cases = report["cases"]
    assert len(cases) >= 100
    assert not [c["case"] for c in cases if any(p.startswith("error") for p in c["problems"])]
    assert report["ungrounded_claims"] == 0 and report["degenerate_answers"] == 0
    with_history = [c for c in cases if c["history"]]
    assert with_history and all(
        len(c["turn_seconds"]) == 1 + len(c["history"]) for c in with_history
    )
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"{report['failed']} failed")


@pytest.mark.slow
def test_sequence_asks_one_scenario_on_one_server_with_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "seq.json"
    names = [
        "3001_fin_ap_extract_root_cause",
        "3010_fin_payments_healthy",
        "7006_trs_fx_rates_healthy",
    ]
    files = [str(CASES / f"{n}.yaml") for n in names]
    main([*files, "--sequence", "--lm", "echo", "--json", str(out), "--data-dir", str(tmp_path)])
    report = json.loads(out.read_text())
    assert report["mode"] == "sequence"
    by_name = {c["case"]: c for c in report["cases"]}
    assert list(by_name) == names
    # Memory is on: the first turn finds no past turn, later ones are offered the earlier ones.
    assert by_name[names[0]]["context"] == []
    assert by_name[names[1]]["context"] and by_name[names[2]]["context"]
    assert capsys.readouterr().out.splitlines()[-1].endswith("failed")


def test_a_scenario_that_will_not_load_fails_its_case_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenario: no_such_night.yaml\nquestion: Why?\ntags: [root-cause]\n")
    good = CASES / "01_r1_db_credentials.yaml"
    assert main([str(broken), str(good), "--lm", "echo", "--data-dir", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL broken") and "error: scenario: ScenarioError" in lines[0]
    assert lines[1].startswith("PASS 01_r1_db_credentials")
    assert lines[-1] == "1 passed, 1 failed"
