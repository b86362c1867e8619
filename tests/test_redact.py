"""Masking keeps secrets out and leaves the words around them readable (the service's API)."""

from __future__ import annotations

import logging

import pytest

from resync_ext.redact import RedactingFilter, install_log_filter, mask_obj, mask_secrets
from resync_ext.redact.detectors import detect_secrets_rules, skipped
from resync_ext.redact.engine import PIECE_BYTES


def test_mask_obj_reaches_nested_strings() -> None:
    data = {"args": {"cmd": "login --password pw1"}, "rows": ["token=abc123", 3]}
    assert mask_obj(data) == {"args": {"cmd": "login --password ***"}, "rows": ["token=***", 3]}


def test_empty_nul_and_non_ascii_text_come_back_intact() -> None:
    assert mask_secrets("") == ""
    assert mask_secrets("nul \x00 inside") == "nul \x00 inside"
    assert mask_secrets("Größe 42 — ok \ud800") == "Größe 42 — ok \ud800"  # a lone surrogate
    assert mask_secrets("Kennwort é password=Gé-pw1 ü") == "Kennwort é password=*** ü"


def test_case_folding_spellings_of_key_words_are_masked() -> None:
    # RE2's Unicode case folding: the long s and the Kelvin sign read as s and k
    assert "hunter2" not in mask_secrets("to\u212aen=hunter2 pa\u017f\u017fword=hunter2")


def test_detect_secrets_patterns_run_under_re2() -> None:
    names = {r.name for r in detect_secrets_rules()}
    assert len(detect_secrets_rules()) >= 20
    for expected in ("AWS Access Key", "GitHub Token", "Slack Token", "Stripe Access Key"):
        assert f"detect-secrets: {expected}" in names
    # only the IBM keyword shapes need a look-ahead RE2 lacks (the key-value rule covers them)
    assert all(s.startswith("IBM ") for s in skipped()), skipped()


def test_a_secret_at_a_piece_boundary_is_masked() -> None:
    filler = ("x" * 99 + "\n") * (PIECE_BYTES // 100)
    for shift in range(-30, 30, 7):
        text = filler[: len(filler) + shift] + "\npassword=Boundary-Pw1 and\n" + filler
        assert "Boundary-Pw1" not in mask_secrets(text)


def test_a_private_key_across_pieces_is_masked() -> None:
    body = "\n".join(["MIIEowIBAAKCAQEA7Zq1x9aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdef"] * 2000)
    text = "log\n" * 5 + "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\nJob ended\n"
    out = mask_secrets(text)
    assert "MIIEow" not in out and out.endswith("Job ended\n") and "BEGIN RSA PRIVATE KEY" in out


def test_the_log_filter_masks_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("resync_ext.test_redact")
    install_log_filter(log)
    install_log_filter(log)
    assert sum(isinstance(f, RedactingFilter) for f in log.filters) == 1
    with caplog.at_level(logging.INFO, logger=log.name):
        log.info("connect with %s", "password=Log-Pw1")
        try:
            raise ValueError("token=Log-Pw2")
        except ValueError:
            log.exception("failed")
    text = caplog.text
    assert "Log-Pw1" not in text and "Log-Pw2" not in text
    assert "connect with password=***" in text and "ValueError: token=***" in text


def test_the_gate_never_skips_what_the_rules_would_mask() -> None:
    """The one-pass gate in front of the rules changes the cost, never the result."""
    import random

    from resync_ext.redact import masker
    from resync_ext.redact.engine import Masker

    ungated = Masker(masker().rules, gate=False)
    rng = random.Random(11)
    pieces = [
        "pass",
        "word",
        "key",
        "token",
        "@",
        "=",
        ":",
        "sk-",
        "eyJ",
        "secret",
        "://",
        "/",
        "-p",
        " using ",
        "<",
        ">",
        "'",
        '"',
        "AKIA",
        "Bearer ",
        "-----BEGIN ",
        "\n",
    ]
    alphabet = "abcdefghijklmnopqrstuvwxyzAKIS0123456789 _-=:@/'\"\n;.%\u017f\u212a"
    texts = [
        "".join(
            rng.choice(pieces) if rng.random() < 0.4 else rng.choice(alphabet)
            for _ in range(rng.randint(1, 60))
        )
        for _ in range(1500)
    ]
    for text in texts:
        assert mask_secrets(text) == ungated.mask(text), repr(text)
    assert sum(mask_secrets(t) != t for t in texts) > 200, "the corpus exercises both paths"


def test_the_service_works_without_any_network() -> None:
    """detect-secrets' plugins are read, never asked to verify a secret online."""
    import subprocess
    import sys

    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('no network in this test')\n"
        "socket.socket.connect = refuse; socket.socket.connect_ex = refuse\n"
        "socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from resync_ext.redact import mask_secrets\n"
        "print(mask_secrets('key AKIAIOSFODNN7EXAMPLE and ghp_' + 'a' * 36))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "key *** and ***", out.stderr


def test_metric_labels_are_masked() -> None:
    from resync_ext.metrics import endpoint_template

    label = endpoint_template("/twsd/api/v2/plan/job/token=Label-Pw1/joblog?x=1")
    assert label == "/twsd/api/v2/plan/job/token=***"  # what follows a value is masked with it


def test_a_piece_dense_with_secrets_is_masked_by_whole_lines() -> None:
    from resync_ext.redact.engine import MAX_SECRETS_PER_PIECE

    head = "job PAYROLL started\n"
    dump = "".join(f"pwd=Dump-{i}\n" for i in range(MAX_SECRETS_PER_PIECE + 500))  # one piece
    out = mask_secrets(head + dump)
    assert out.startswith(head + "pwd=***\n")
    assert "Dump-" not in out and out.count("\n") == (head + dump).count("\n")
    assert out.endswith("***\n***\n"), "past the budget, lines are masked whole"


def test_a_value_under_a_secret_key_is_masked_whole() -> None:
    params = {"tws_password": "hunter2", "api_key": "k1", "token": "", "tokens": "12",
              "password_expired": "yes", "nested": [{"db_pass": "p w"}], "count": 3}  # fmt: skip
    assert mask_obj(params) == {
        "tws_password": "***",
        "api_key": "***",
        "token": "",
        "tokens": "12",
        "password_expired": "yes",
        "nested": [{"db_pass": "***"}],
        "count": 3,
    }
