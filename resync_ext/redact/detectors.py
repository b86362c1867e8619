"""detect-secrets' token detectors, run by RE2 instead of Python's ``re``.

detect-secrets (Yelp) keeps the shapes of cloud and SaaS credentials up to date: AWS, Azure
storage, GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, npm, PyPI, JWT, private key markers
and more. Its plugins match with Python's backtracking ``re``; here each plugin's ``denylist``
patterns are compiled with RE2 so their running time stays linear in the text, and each match
is masked whole (less its delimiters), after Resync's own shapes. RE2 has no
look-around: the two look-around idioms detect-secrets uses are dropped, which can only widen a
match (a token followed by a word character is masked too). A pattern RE2 still refuses is left
out and named by ``skipped()`` (tests/test_redact.py keeps that list short and known).

Nothing here reaches the network: the plugins' ``verify`` (which would call the vendor's API) is
never called; only their class-level pattern lists are read.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import RegexBasedDetector

from .engine import Rule

# Left to shapes.py: a public IP address is not a credential (and would mask job logs' hosts);
# detect-secrets' private key rule flags the BEGIN line only, shapes.py masks the key's body.
_NOT_SECRETS = frozenset({"Public IP (ipv4)", "Private Key"})
_RE2_REFUSES = re.compile(r"\(\?<?[=!]|\\[1-9]")  # look-around or a back-reference
# The look-around idioms of detect-secrets' patterns, and long counted repetitions.
_LOOK_AROUND = (
    (re.compile(r"\(\?:\(\?<=\\W\)\|\(\?<=\^\)\)"), ""),  # (?:(?<=\W)|(?<=^)) at a start
    (re.compile(r"\(\?!\\w\)"), ""),  # (?!\w) at an end
    # a long upper bound (GitLab's {50,1024}) makes RE2's DFA track every count; for masking
    # "at least n" is as good, and linear in practice too
    (re.compile(r"\{(\d+),(\d{3,})\}"), r"{\1,}"),
)


def _adapt(pattern: str) -> str:
    for idiom, replacement in _LOOK_AROUND:
        pattern = idiom.sub(replacement, pattern)
    return pattern


@lru_cache(maxsize=1)
def _scan() -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    rules: list[Rule] = []
    skipped: list[str] = []
    for secret_type, plugin in sorted(get_mapping_from_secret_type_to_class().items()):
        if secret_type in _NOT_SECRETS:
            continue
        detector = plugin()  # type: ignore[misc]  # typed as the abstract base; each is concrete
        if not isinstance(detector, RegexBasedDetector):  # the keyword and entropy scanners
            continue
        for regex in detector.denylist:
            rule = Rule(
                f"detect-secrets: {secret_type}",
                _adapt(regex.pattern),
                case_insensitive=bool(regex.flags & re.IGNORECASE),
                # their groups are not always the secret (GitHub's is the "ghp" prefix)
                whole_match=True,
            )
            try:
                if _RE2_REFUSES.search(rule.pattern):  # RE2 would log its refusal to stderr
                    raise re2.error("look-around")
                rule.compile()
            except re2.error:
                skipped.append(f"{secret_type}: {regex.pattern}")
                continue
            rules.append(rule)
    return tuple(rules), tuple(skipped)


def detect_secrets_rules() -> tuple[Rule, ...]:
    """Return one rule per detect-secrets denylist pattern RE2 accepts."""
    return _scan()[0]


def skipped() -> tuple[str, ...]:
    """Return the detect-secrets patterns RE2 refused (their shapes are in shapes.py)."""
    return _scan()[1]
