"""The known-issue knowledge base: log lines, codes, statuses and return codes to rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from resync_ext.tws.knowledge import aws_codes, load_known_issues, lookup_known_issue


def rules(**kwargs: object) -> list[str]:
    return [m["rule"] for m in lookup_known_issue(**kwargs)]  # type: ignore[arg-type]


def test_every_rule_r1_to_r28_is_covered_with_steps() -> None:
    issues = load_known_issues()
    ids = {i.id for i in issues}
    assert {f"R{n}" for n in range(1, 29)} <= ids
    for issue in issues:
        assert issue.cause and issue.steps, issue.id
    # every AWS* code named in the reference notes has an entry
    codes = set().union(*(i.codes for i in issues))
    assert {
        "AWSBHT001E", "AWSBDW002E", "AWSBDW009E", "AWSBDX001E", "AWSBEH021E", "AWSBEH023E",
        "AWSBHV082E", "AWSDEC002E", "AWSITA245E", "AWSJDB801E", "AWSJPL017E", "AWSJPL018E",
        "AWSJPL704E",
    } <= codes  # fmt: skip


def test_oracle_login_error_ranks_credentials_first() -> None:
    log = "starting extract\nORA-01017: invalid username/password; logon denied\nexit 12"
    matches = lookup_known_issue(text=log, status="ABEND", return_code=12)
    assert matches[0]["rule"] == "R1.db-credentials"
    assert "ORA-01017" in matches[0]["evidence"][0]
    assert "R1" in [m["rule"] for m in matches]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"status": "HOLD", "substatus": "HOLD_WAITING_FOR_PREDECESSOR"}, "R4"),
        ({"status": "READY", "substatus": "READY_WAITING_FOR_AGENT"}, "R12"),
        ({"status": "READY", "substatus": "READY_WAITING_FOR_RESOURCES"}, "R11"),
        ({"status": "READY", "substatus": "READY_WAITING_FOR_LIMIT"}, "R9"),
        ({"status": "HOLD", "substatus": "HOLD_WAITING_FOR_PROMPT"}, "R7"),
        ({"status": "FENCE"}, "R10"),
        ({"status": "PEND"}, "R19"),
        ({"text": "cp: error writing '/data/out.dat': No space left on device"}, "R1.disk-full"),
        ({"text": "cat: /in/employees.csv: No such file or directory"}, "R1.file-not-found"),
        ({"text": "AWSJPL018E The database is already locked."}, "R22"),
        ({"status": "ABEND", "return_code": 137}, "R1.killed"),
        ({"status": "ABEND", "return_code": 127}, "R1.command-not-found"),
    ],
)
def test_symptoms_map_to_rules(kwargs: dict[str, object], expected: str) -> None:
    assert rules(**kwargs)[0] == expected


def test_launch_failure_codes_name_both_rules() -> None:
    text = (
        'AWSBHT001E The job "AGT#DAILY.LOAD" in file "x" has failed with the error:\n'
        "AWSBDW009E An internal error occurred retrieving the password structure"
    )
    assert set(rules(text=text)[:2]) == {"R2", "R3"}
    assert aws_codes(text) == ["AWSBHT001E", "AWSBDW009E"]


def test_nothing_matches_a_healthy_job() -> None:
    assert lookup_known_issue(text="all rows loaded", status="SUCC", return_code=0) == []


def test_evidence_is_masked() -> None:
    text = "connect failed: password=hunter2 ORA-01017 invalid username/password"
    evidence = " ".join(lookup_known_issue(text=text)[0]["evidence"])
    assert "hunter2" not in evidence and "ORA-01017" in evidence


def test_a_step_yaml_reads_as_a_mapping_is_refused(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(
        "- id: X1\n  title: t\n  cause: c\n  steps:\n    - Check the state (`sc`): it is linked.\n"
    )
    with pytest.raises(ValueError, match=r"X1: step .* is not text; quote it"):
        load_known_issues(kb)
