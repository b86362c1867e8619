"""Secrets in the shapes operators paste or job logs print never survive masking."""

from __future__ import annotations

import pytest

from resync_ext.redact import mask_obj, mask_secrets

LEAKS = [
    ("Server=db;User Id=sa;Password=P@ss w0rd;", "P@ss", "w0rd"),
    ('password: "hunter 2"', "hunter", " 2"),
    ("passwd='abc def'", "abc", "def"),
    ('secret="quoted value here"', "quoted", "value here"),
    ("mysql -uroot -phunter2 payroll", "hunter2", "hunter2"),
    ("sshpass -p 'hunter2' ssh agt01", "hunter2", "hunter2"),
    ("Authorization: Bearer abcdef123456", "abcdef123456", "abcdef123456"),
    ("postgres://admin:S3cr3t!@db:5432/x", "S3cr3t", "S3cr3t"),
    ("connect scott/tiger@PROD", "tiger", "tiger"),
    ('{"api_key": "abcd1234efgh"}', "abcd1234efgh", "abcd1234efgh"),
]


@pytest.mark.parametrize(("text", "first", "second"), LEAKS)
def test_secret_is_masked_whole(text: str, first: str, second: str) -> None:
    masked = mask_secrets(text)
    assert first not in masked and second not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "text",
    [
        "ORA-01017: invalid username/password; logon denied",
        "ssh -p 22 agt01",
        "job PAYROLL_EXTRACT ended ABEND with return code 12",
    ],
)
def test_text_without_secret_is_unchanged(text: str) -> None:
    assert mask_secrets(text) == text


def test_mask_obj_walks_nested_evidence() -> None:
    evidence = [{"tool": "get_job_log", "args": {"job": "X"}, "summary": ["pwd=hunter2;", 3]}]
    assert mask_obj(evidence) == [
        {"tool": "get_job_log", "args": {"job": "X"}, "summary": ["pwd=***;", 3]}
    ]
