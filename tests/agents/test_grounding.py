"""The grounding guard on its own: each kind of claim, planted wrong, is caught; true ones pass."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from resync_ext.agents.grounding import (
    check,
    claims,
    degenerate,
    drop_unsupported,
    sentences,
    trim_incomplete,
    trim_repetition,
)

EVIDENCE = [
    "PAYROLL_EXTRACT (stream DAILY_PAY, workstation AGT_LNX01) is ERROR (ABEND), return code 12, "
    "ended 2026-11-23T22:01:10Z.",
    "Log of PAYROLL_EXTRACT: ORA-01017: invalid username/password; logon denied | extract aborted.",
    '{"job": "DAILY_PAY.PAYROLL_EXTRACT"}',
    "Known issue R1.db-credentials (Database credentials rejected): the password expired.",
]
TRUE = (
    "PAYROLL_EXTRACT in DAILY_PAY abended with return code 12 at 22:01 UTC on 2026-11-23 because "
    "the database refused the login (ORA-01017). Rerun DAILY_PAY.PAYROLL_EXTRACT on AGT_LNX01 "
    "once the password is reset."
)


def test_an_answer_that_only_restates_the_evidence_is_grounded() -> None:
    report = check(TRUE, EVIDENCE, "Why did payroll extract fail?")
    kinds = {c.kind for c in report.claims}
    assert kinds == {"name", "code", "return_code", "time"}
    assert report.ok, report.unsupported


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        ("The predecessor LOAD_SALES also failed.", "name"),
        ("It is the DAILY_PAY_EXTRACT job.", "name"),  # a stream and a job glued together
        ("The log shows ORA-00942.", "code"),
        ("The agent reported AWSBHT002E.", "code"),
        ("DB2 answered SQL0911N.", "code"),
        ("SQLSTATE 40001 was returned.", "code"),
        ("The disk was full (ENOSPC).", "code"),
        ("It ended with RC 8.", "return_code"),
        ("Its exit code was 4.", "return_code"),
        ("It ended at 23:47.", "time"),
        ("It ended at 2026-11-22T22:01:10Z.", "time"),
    ],
)
def test_a_planted_wrong_claim_is_caught(planted: str, kind: str) -> None:
    report = check(TRUE + " " + planted, EVIDENCE)
    assert [c.kind for c in report.unsupported] == [kind] or (
        kind == "time" and {c.kind for c in report.unsupported} == {"time"}
    ), report.unsupported


def test_names_match_case_insensitively_and_in_dotted_references() -> None:
    answer = "payroll_extract failed; see DAILY_PAY.PAYROLL_EXTRACT and AGT_LNX01#DAILY_PAY."
    assert check(answer, EVIDENCE).ok


def test_words_and_acronyms_are_not_names() -> None:
    answer = (
        "The job ABEND is a failure: check the Oracle password over SSH, then RERUN? No: NOTE it."
    )
    found = {c.text for c in claims(answer) if c.kind == "name"}
    assert found == {"RERUN"}  # an unknown upper-case word is taken for a name, so it is checked


def test_a_time_in_the_engine_time_zone_is_grounded_by_the_utc_stamp() -> None:
    rome = ZoneInfo("Europe/Rome")
    assert check("It ended at 23:01 local time.", EVIDENCE, tz=rome).ok
    assert not check("It ended at 23:01 local time.", EVIDENCE).ok


def test_the_question_grounds_what_it_names() -> None:
    assert not check("NO_SUCH_JOB is not in the plan.", EVIDENCE).ok
    assert check("NO_SUCH_JOB is not in the plan.", EVIDENCE, "Why did NO_SUCH_JOB fail?").ok


def test_paths_are_not_taken_for_names() -> None:
    assert check("Check /opt/app/payroll_extract.sh and C:\\jobs\\run_me.cmd", EVIDENCE).ok


def test_unsupported_sentences_are_removed_and_counted() -> None:
    answer = "The login was refused (ORA-01017). LOAD_SALES failed too.\n1. Reset the password."
    kept, dropped = drop_unsupported(answer, EVIDENCE)
    assert kept == "The login was refused (ORA-01017).\n1. Reset the password."
    assert [c.text for c in dropped] == ["LOAD_SALES"]


def test_sentences_keep_list_items_and_abbreviations_whole() -> None:
    text = "Cause: it failed, e.g. on login. Then stopped.\nNext steps:\n1. Check it.\n2. Rerun."
    assert sentences(text) == [
        "Cause: it failed, e.g. on login.",
        "Then stopped.",
        "Next steps:",
        "1. Check it.",
        "2. Rerun.",
    ]


def test_a_loop_is_detected_and_cut_to_one_copy() -> None:
    loop = "PAYROLL_REPORT is held by PAYROLL_CALC, " + "which is held by job PAYROLL_EXTRACT, " * 9
    assert degenerate(loop)
    assert trim_repetition(loop) == (
        "PAYROLL_REPORT is held by PAYROLL_CALC, which is held by job PAYROLL_EXTRACT."
    )
    assert not degenerate(TRUE)
    assert trim_repetition(TRUE) == TRUE


def test_a_repeated_step_is_dropped() -> None:
    text = "Next steps:\n1. Reset the password.\n2. Reset the password.\n3. Rerun the job."
    assert trim_repetition(text) == "Next steps:\n1. Reset the password.\n3. Rerun the job."


def test_a_sentence_cut_by_the_token_budget_is_removed() -> None:
    assert trim_incomplete("Why: it failed.\nNext steps:\n1. Check it.\n2. Rerun the") == (
        "Why: it failed.\nNext steps:\n1. Check it."
    )
    assert trim_incomplete("It failed. Then the") == "It failed."
    assert trim_incomplete("It failed.") == "It failed."


def test_a_dropped_step_leaves_the_list_numbered_in_order() -> None:
    kept, dropped = drop_unsupported(
        "Next steps:\n1. Check AGT_LNX02.\n2. Restart LOAD_SALES.\n3. Rerun the stream.",
        ["KPI_DASHBOARD on AGT_LNX02"],
    )
    assert kept == "Next steps:\n1. Check AGT_LNX02.\n2. Rerun the stream."
    assert [c.text for c in dropped] == ["LOAD_SALES"]


@pytest.mark.parametrize(
    ("answer", "fits"),
    [
        ("It has run for about 2 hours.", True),  # 1 h 58 min, rounded to the hour
        ("It has run for 1 h 58 min.", True),
        ("It has run for 1 hour and 58 minutes.", True),
        ("It has run for 118 minutes.", True),
        ("Its estimate is 20 min.", True),
        ("Its estimate is twenty minutes.", True),
        ("It has run for 6 hours.", False),
        ("It has run for 1 h 20 min.", False),  # written to the minute: a minute's slack
        ("It usually takes 45 minutes.", False),
        ("It will need half an hour more.", False),
        ("It may take 3 days.", False),
    ],
)
def test_a_duration_is_grounded_by_one_the_facts_give_at_the_precision_written(
    answer: str, fits: bool
) -> None:
    facts = ["It has been running for 1 h 58 min, against an estimate of PT20M."]
    report = check(answer, facts, durations=True)
    assert [c.kind for c in report.claims] == ["duration"]
    assert report.ok is fits, report.unsupported


def test_words_that_only_look_like_durations_are_not_claims() -> None:
    text = "As I am at AWSBHT001E since 02:10, rc 12 on the 1st; 3 ms; 10am; JOB_3H; 64 KiB."
    assert [c for c in claims(text, durations=True) if c.kind == "duration"] == []
    # Off unless asked: code-written facts state durations worked out from clock times.
    assert [c.kind for c in claims("It ran for 6 hours.")] == []
