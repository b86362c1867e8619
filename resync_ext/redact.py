"""Mask secrets in text before it is logged, stored or sent to an LM.

One module, shared by the TWS tools (job logs), the memory store (questions, answers, evidence)
and the chat path (anything that leaves for the LM). The patterns err on the side of masking:
a masked word that was not a secret costs little, a leaked password costs a lot.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_KEY_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key"
    r"|secret[_-]?key|private[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token"
    r"|credentials?|session[_-]?id"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Basic xxx / Bearer xxx (headers, curl -H lines)
    (
        re.compile(
            r"(?i)\b(authorization\s*[:=]\s*)(basic|bearer|token|apikey)\s+[A-Za-z0-9._~+/=-]+"
        ),
        rf"\1\2 {MASK}",
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # user:password@host in URLs and connection strings
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)"), rf"\1{MASK}\2"),
    # Oracle style user/password@tns
    (re.compile(r"\b([A-Za-z_][A-Za-z0-9_$#]*/)[^\s/@]+(@[A-Za-z0-9_.:-]+)"), rf"\1{MASK}\2"),
    # key="quoted value with spaces", key: 'value' (the whole quoted value, spaces included)
    (
        re.compile(
            rf"(?i)(\"?(?:[A-Za-z0-9_.-]*[_.-])?(?:{_KEY_WORDS})\"?\s*[:=]\s*)([\"'])(?:(?!\2)[^\n])*\2"
        ),
        rf"\1\2{MASK}\2",
    ),
    # ADO/ODBC connection strings: Password=any thing up to the next ';'
    (re.compile(r"(?i)\b((?:password|pwd)\s*=\s*)([^;\"'\n]+)(?=;)"), rf"\1{MASK}"),
    # sshpass -p secret, mysql -psecret (the password glued to -p)
    (re.compile(r"\b(sshpass\s+-p\s*)(['\"]?)[^\s'\"]+\2"), rf"\1\2{MASK}\2"),
    (re.compile(r"\b(mysql(?:dump|admin)?\b[^\n]*?\s-p)(?=\S)[^\s]+"), rf"\1{MASK}"),
    # key=value, key: value, "key": "value", --key value, -Dkey=value
    (
        re.compile(
            rf"(?i)(\"?(?:[A-Za-z0-9_.-]*[_.-])?(?:{_KEY_WORDS})\"?\s*[:=]\s*\"?)([^\s\"',;&]+)"
        ),
        rf"\1{MASK}",
    ),
    # --password value (an option at a word start, not "db-credentials (..." inside a name)
    (re.compile(rf"(?i)(?<![\w-])(--?(?:{_KEY_WORDS})[ =])([^\s\"']+)"), rf"\1{MASK}"),
    # "the password is hunter2" in free text; "password expired" / "password structure" stay
    (
        re.compile(r"(?i)\b(password|passwd|pwd|passphrase)(\s+(?:is|was)\s+)([^\s,;]{3,})"),
        rf"\1\2{MASK}",
    ),
    # Well-known token shapes that need no key word around them
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}\b"), MASK),  # OpenAI-style keys
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"), MASK),  # GitHub tokens
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),  # AWS access key ids
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),  # JWT
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        MASK,
    ),
)

# Something every pattern above needs somewhere in the text (a key word, an "@", a token's
# prefix), lower case. Text holding none of these is returned as it is without running the
# patterns (~0.2 ms per 100 characters; this check is ~100x cheaper). The list may catch more
# than the patterns do, never less: tests/test_redact.py checks both paths agree.
_NEEDS = (
    "@",
    "authorization",
    "bearer",
    "mysql",
    "sk-",
    "pk-",
    "rk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "akia",
    "eyj",
    "-----begin",
    "pass",  # password, passwd, passphrase, sshpass
    "pwd",
    "secret",
    "key",  # api_key, apikey, access-key, secret_key, private_key
    "token",
    "credential",
    "session",
)


def _may_hold_secret(text: str) -> bool:
    # casefold() turns the "K" sign and the long "s" into k and s, as the patterns' (?i) does;
    # dotless i and the dot of a dotted capital I also match "i" there.
    low = text.casefold().replace("\u0131", "i").replace("\u0307", "")
    return any(word in low for word in _NEEDS)


# Phrases that merely mention a credential (not a value) and must survive masking intact,
# e.g. Oracle's "ORA-01017: invalid username/password; logon denied".
_PROTECT = re.compile(r"(?i)invalid username/password|username/password")


def mask_secrets(text: str) -> str:
    """Return ``text`` with passwords, tokens, keys and credentials replaced by ``***``."""
    if not text:
        return text
    if not _may_hold_secret(text):
        return text.replace("\x00", "\ufffd")  # as the full path does
    return _mask_all(text)


def _mask_all(text: str) -> str:
    """Run every pattern over ``text`` (``mask_secrets`` without its quick exit)."""
    protected: list[str] = []

    def _stash(m: re.Match[str]) -> str:
        protected.append(m.group(0))
        return f"\x00{len(protected) - 1}\x00"

    # NUL marks the stashed phrases below: one in the input must not be taken for a marker.
    out = _PROTECT.sub(_stash, text.replace("\x00", "\ufffd"))
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    if protected:
        out = re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], out)
    return out


def mask_obj(value: Any) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists, tuples, scalars)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: mask_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_obj(v) for v in value]
    return value
