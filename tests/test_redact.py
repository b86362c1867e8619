"""Masking keeps secrets out and leaves the words around them readable."""

from __future__ import annotations

import pytest

from resync_ext.redact import mask_obj, mask_secrets


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my password is hunter22", "hunter22"),
        ("the pwd was s3cr3t!", "s3cr3t!"),
        ("--password pw123 --user x", "pw123"),
        ("export DB_PASSWORD=s3cret!", "s3cret!"),
        ("connect scott/tiger@PROD", "tiger"),
        ("postgres://app:hunter2@db:5432/x", "hunter2"),
        ('curl -H "Authorization: Basic ZGVtbzpkZW1v" http://x', "ZGVtbzpkZW1v"),
        ("key sk-abcdefghijklmnopqrstuv in a log", "sk-abcdefghijklmnopqrstuv"),
    ],
)
def test_secrets_are_masked(text: str, secret: str) -> None:
    out = mask_secrets(text)
    assert secret not in out and "***" in out
    assert mask_secrets(out) == out, "masking twice changes nothing"


@pytest.mark.parametrize(
    "text",
    [
        "ORA-01017: invalid username/password; logon denied",
        "ORA-28001: the password has expired",
        "AWSBDW009E retrieving the password structure",
        "Known issue R1.db-credentials (Database login rejected (bad or expired credentials))",
        "plain text about passwords and tokens in general",
    ],
)
def test_mentions_of_credentials_are_not_secrets(text: str) -> None:
    assert mask_secrets(text) == text


def test_mask_obj_reaches_nested_strings() -> None:
    data = {"args": {"cmd": "login --password pw1"}, "rows": ["token=abc123", 3]}
    assert mask_obj(data) == {"args": {"cmd": "login --password ***"}, "rows": ["token=***", 3]}


def test_nul_digit_nul_in_the_input_is_not_taken_for_a_marker() -> None:
    text = "invalid username/password \x007\x00 and \x000\x00"
    out = mask_secrets(text)
    assert "invalid username/password" in out and "\x00" not in out
