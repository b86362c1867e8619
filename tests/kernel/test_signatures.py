"""Error signatures: the same failure on different nights gets the same key."""

from __future__ import annotations

from resync_ext.kernel.signatures import normalise_line, signature_keys, signatures


def keys(text: str) -> list[str]:
    return [s.key for s in signatures(text)]


def test_product_codes_are_the_signature_whatever_surrounds_them() -> None:
    a = "2026-11-23 23:00:05 ERROR:\nORA-01017: invalid username/password; logon denied"
    b = "[Tue Nov 24 01:00:00] sqlplus PAYROLL_APP@PAYDB -> ORA-01017 invalid username/password"
    assert keys(a) == keys(b) == ["ORA-01017"]
    assert keys('AWSBHT001E The job "AGT#S.J" failed\nAWSBDW009E no such user') == [
        "AWSBHT001E",
        "AWSBDW009E",
    ]
    assert keys("SQL0911N The current transaction has been rolled back") == ["SQL0911N"]


def test_a_pl_sql_stack_frame_is_not_a_failure_of_its_own() -> None:
    log = 'ORA-00060: deadlock detected\nORA-06512: at "BILLING.RATE_PKG", line 412'
    assert keys(log) == ["ORA-00060"]


def test_operating_system_conditions_are_named_like_errno() -> None:
    assert keys("cp: error writing '/data/stage/a.dat': No space left on device") == ["ENOSPC"]
    assert keys("write failed on /u01: No space left on device (errno 28)") == ["ENOSPC"]
    assert keys("ls: cannot access '/data/in/x.csv': No such file or directory") == ["ENOENT"]
    assert keys("ERROR input file /data/in/bank/stmt_20261123.csv not found") == ["ENOENT"]
    assert keys("bash: /opt/run.sh: Permission denied") == ["EACCES"]


def test_without_a_code_the_first_error_line_is_normalised() -> None:
    a = keys("2026-11-24 02:33:10 ERROR stage copy failed after 1841 rows, rc=1")
    b = keys("2026-11-25 03:10:01 ERROR stage copy failed after 77 rows, rc=1")
    assert a == b == ["error stage copy failed after <n> rows, rc=<n>"]
    assert keys("all good\nprocessed 100 rows") == []
    assert keys("") == [] and keys(None) == []  # type: ignore[arg-type]


def test_secrets_never_reach_a_signature() -> None:
    [sig] = signatures("connect PAYROLL_APP/Pay2026!nov@PAYDB failed: ORA-01017 logon denied")
    assert "Pay2026" not in sig.text and sig.key == "ORA-01017"
    assert "Pay2026" not in normalise_line("password=Pay2026!nov error")


def test_keys_across_texts_keep_their_first_order() -> None:
    texts = ["ORA-01017 denied", "No space left on device", "ORA-01017 again", None]
    assert signature_keys(texts) == ["ORA-01017", "ENOSPC"]
