"""The masking service: secrets out of any text before it is logged, stored or sent to an LM.

One service for every place text leaves Resync: the TWS tools (job logs, commands, prompts),
the memory store (questions, answers, evidence), the LM adapters, review batches, reports,
reviewer comments, metrics and the server's own log lines (``RedactingFilter``).

What it finds: detect-secrets' token detectors (detectors.py) and the shapes of HCL Workload
Automation and enterprise tooling no generic detector knows (shapes.py), all matched by RE2 in
time linear in the text over bounded pieces (engine.py). It errs on the side of masking: a masked
word that was not a secret costs little, a leaked password costs a lot; yet ordinary job-log
lines (ids, hashes, paths, "password expired") stay as they are (tests/security/).

Cost: ~3 ms per MB of ordinary text; callers with large or untrusted text (a job log, a chat
frame) call it from a worker thread (``asyncio.to_thread``) so the event loop keeps running.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from .detectors import detect_secrets_rules
from .engine import MASK, Masker, Rule
from .logfilter import RedactingFilter, install_log_filter
from .shapes import KEY_WORDS, RULES


@lru_cache(maxsize=1)
def masker() -> Masker:
    """Return the process's masker: Resync's shapes first, then detect-secrets' detectors."""
    return Masker((*RULES, *detect_secrets_rules()))


def mask_secrets(text: str) -> str:
    """Return ``text`` with passwords, tokens, keys and credentials replaced by ``***``."""
    if not text:
        return text
    return masker().mask(text)


@lru_cache(maxsize=1)
def _secret_key() -> re2._Regexp:
    opts = re2.Options()
    opts.case_sensitive = False
    return re2.compile(f"(?:{KEY_WORDS})$", opts)


def mask_obj(value: Any) -> Any:
    """Mask every string inside a JSON-like value (dicts, lists, tuples, scalars).

    A string under a key that names a secret (``password``, ``db_pass``, ``api_key``, ``token``)
    is masked whole: ``{"password": "hunter2"}`` holds no shape a text rule could see.
    """
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {
            k: MASK
            if isinstance(v, str) and v and isinstance(k, str) and _secret_key().search(k)
            else mask_obj(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_obj(v) for v in value]
    return value


__all__ = [
    "MASK",
    "Masker",
    "RedactingFilter",
    "Rule",
    "install_log_filter",
    "mask_obj",
    "mask_secrets",
    "masker",
]
