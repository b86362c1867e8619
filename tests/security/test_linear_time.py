"""No text can make masking or the known-issue lookup slow: 1 MB of adversarial text each in
< 200 ms of the calling thread's CPU (``time.thread_time``: other processes' load does not
count). The shapes that backtracked before RE2 are reproduced first: ``x-x-x-...`` near a key
word (two masking patterns, quadratic) and a line repeating ``unlink`` (known issue R14)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resync_ext.redact import mask_secrets
from resync_ext.tws.knowledge import lookup_known_issue

MB = 1 << 20
BOUND_S = 0.2
# Pieces that drive backtracking regexes: separators runs, key words without values, open
# quotes, URL parts without a host, key markers without END, HWA words the rules look for.
FRAGMENTS = [
    "x-", "x", "-", "_", ".", "unlink", "unlink ", "mailman", "password", "pwd", "token",
    "secret", "api_key", "Authorization:", "Bearer ", "=", ":", " ", "\t", "\n", "\"", "'",
    "@", "://", "/", "%", ";", "&", "?sig=", "<password>", "</", "eyJ", "sk-", "AKIA", "ghp_",
    "-----BEGIN RSA PRIVATE KEY-----", "-----END", "user ", "using ", "curl -u ", "-p",
    "db2 connect to ", "sqlplus ", "ORA-", "AWSBHT001E", "deadline", "fence", "é", "\u017f",
    "glagent-", "glpat-", "AccountKey=", "xoxb-", "AIza", "Private-Lines: 3",
]  # fmt: skip


def _cpu(fn: Callable[[str], object], text: str) -> float:
    start = time.thread_time()
    fn(text)
    return time.thread_time() - start


def _to_1mb(parts: list[str]) -> str:
    unit = "".join(parts) or "x"
    return (unit * (MB // len(unit) + 1))[:MB]


def _lookup(text: str) -> object:
    return lookup_known_issue(text, "ABEND", None, 12)


# The two reproductions the review made: each took seconds on 16-64 KB before RE2.
REPRODUCED = {
    "x-x-x near a key word": "password " + "x-" * (MB // 2),
    "key word then x-x-x": "x-" * (MB // 2) + " token",
    "a line repeating unlink": "unlink " * (MB // 7),
    # a GitLab agent token's {50,1024} made RE2's DFA track every count: 18 ms per 64 KiB
    "repeated token prefixes": "glagent-sk-" * (MB // 11),
    "unlink lines": ("unlink " * 100 + "\n") * (MB // 701),
}


@pytest.mark.parametrize("fn", [mask_secrets, _lookup], ids=["mask", "known-issue"])
@pytest.mark.parametrize("name", list(REPRODUCED))
def test_the_reproduced_backtracking_shapes_run_in_linear_time(
    fn: Callable[[str], object], name: str
) -> None:
    text = REPRODUCED[name]
    fn(text[:1000])  # compile the rules outside the measure
    assert _cpu(fn, text) < BOUND_S


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=60))
def test_masking_1mb_of_adversarial_text_is_fast(parts: list[str]) -> None:
    assert _cpu(mask_secrets, _to_1mb(parts)) < BOUND_S


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=60))
def test_known_issue_lookup_over_1mb_of_adversarial_text_is_fast(parts: list[str]) -> None:
    assert _cpu(_lookup, _to_1mb(parts)) < BOUND_S


DENSE = {
    "a secret every 6 bytes": "pwd=x\n" * (MB // 6),
    "a secret every 11 bytes": "password=x " * (MB // 11),
    "six shapes mixed": (
        "pwd=x token:b user u using c sk-abcdefghijklmnopqrst ghp_abcdefghijklmnopqrstuv "
        "Bearer Abc123defghij\n"
    )
    * (MB // 96),
}


@pytest.mark.parametrize("name", list(DENSE))
def test_text_dense_with_secrets_is_fast_too(name: str) -> None:
    """Masking costs per secret found; a piece holding thousands is masked by whole lines."""
    text = DENSE[name]
    mask_secrets(text[:1000])
    assert _cpu(mask_secrets, text) < BOUND_S
    out = mask_secrets(text)
    assert out.count("\n") == text.count("\n"), "lines stay lines"
    for secret in ("=x", ":b", "using c", "sk-abc", "ghp_abc", "Abc123defghij"):
        assert secret not in out


def test_the_lookup_still_finds_a_known_issue_deep_in_a_large_log() -> None:
    """Bounding and chunking keep the answer: the evidence is the matching line, whole."""
    filler = [f"record {i} processed " + "." * 80 for i in range(1900)]  # ~100 KB: 3 chunks
    line = "Mailman unlink timeout while draining the backlog for CPU_B"
    text = "\n".join([*filler[:1000], line, *filler[1000:], "x" * 5000])
    found = lookup_known_issue(text)
    assert found[0]["rule"] == "R14" and found[0]["evidence"] == [line]
