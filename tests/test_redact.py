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


def _corpus() -> list[str]:
    """Texts with and without secrets: every pattern's shapes, odd cases and random noise."""
    import random

    keys = [
        "password", "PASSWD", "Passphrase", "pwd", "secret", "client-secret", "api_key", "APIKEY",
        "access-key", "private_key", "auth_token", "token", "credentials", "session_id",
        # spellings Python's case-insensitive matching takes for the ASCII ones
        "\u017fecret", "to\u212aen", "credent\u0130al", "credent\u0131al", "pa\u017f\u017fword",
    ]  # fmt: skip
    shapes = [
        "{k}=hunter2", '{k}: "two words"', "--{k} hunter2", "-D{k}=x1", "the {k} is hunter2",
        '"{k}": "v"', "{k}='q v'", "db_{k}=abc;x", "Password=p w;", "{k} expired",
    ]  # fmt: skip
    texts = [shape.format(k=k) for k in keys for shape in shapes]
    texts += [
        "Authorization: Bearer abc.def-123",
        "bearer abcdefghijkl",
        "https://user:pw@host/x",
        "connect scott/tiger@PROD",
        "sshpass -p 'x1' ssh h",
        "mysql -uroot -ps3cret db",
        "use sk-" + "a" * 20,
        "ghp_" + "b" * 24,
        "AKIA" + "C" * 16,
        "eyJhbGciOi.eyJzdWIiOiJ4.c2lnbmF0dXJl",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        "ORA-01017: invalid username/password; logon denied",
        "PAYROLL_EXTRACT (stream PAYROLL, workstation CPU_A) is ABEND, return code 12.",
        "nul \x00 inside",
        "",
    ]
    rng = random.Random(11)
    alphabet = "abcdefghijklmnopqrstuvwxyzAKIS _-=:@/'\"\n;.\u017f\u212a\u0130\u0131"
    pieces = ["pass", "key", "token", "@", "=", "sk-", "eyJ", "secret", "://", "/"]
    for _ in range(400):
        parts = [
            rng.choice(pieces) if rng.random() < 0.3 else rng.choice(alphabet)
            for _ in range(rng.randint(1, 40))
        ]
        texts.append("".join(parts))
    return texts


def test_the_quick_exit_never_skips_what_the_patterns_would_mask() -> None:
    from resync_ext.redact import _mask_all

    corpus = _corpus()
    for text in corpus:
        assert mask_secrets(text) == _mask_all(text), repr(text)
    # the corpus exercises both paths, and the odd spellings are masked
    assert sum(mask_secrets(t) != t for t in corpus) > 100
    assert "hunter2" not in mask_secrets("to\u212aen=hunter2 credent\u0131al=hunter2")
