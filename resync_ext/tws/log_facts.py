"""What a job log says, masked and screened: error lines, tail, AWS* codes, known issues.

CPU work over up to ``tws_max_log_kb`` of untrusted text (masking with RE2, injection screening,
the known-issue lookup), so the tools call it in a worker thread: the event loop keeps serving
while a large log is read. Every step works on bounded pieces (RE2 calls over at most 64 KiB,
lines cut at 240 characters), so the loop also gets the GIL back between them.
"""

from __future__ import annotations

from typing import Any

from resync_ext.redact import mask_secrets

from .briefs import hints
from .injection import report, scan_lines
from .knowledge import aws_codes
from .log_reader import ERROR_LINE


def log_facts(
    raw: str, tail_lines: int, status: str | None, substatus: str | None, rc: int | None
) -> dict[str, Any]:
    """Mask, screen and summarise a job log's text (CPU work: run it in a worker thread)."""
    text = mask_secrets(raw)
    lines = text.splitlines()
    # Lines addressed to the assistant are withheld: a marker takes their place and they
    # are reported apart, labelled as data (see injection.py).
    suspicious = scan_lines(lines)
    for s in suspicious:
        lines[s.line - 1] = s.marker()
    errors = [s.marker() for s in suspicious] + [
        ln.strip()[:240]
        for ln in lines
        if ERROR_LINE.search(ln) and not ln.startswith(("=", "[SUSPICIOUS CONTENT", "[... "))
    ]
    tail = lines[-max(1, min(tail_lines, 100)) :]
    return {
        "error_lines": errors[:20],
        "error_lines_left_out": max(0, len(errors) - 20),
        "aws_codes": aws_codes(text),
        "known_issues": hints(status, substatus, rc, text),
        "tail": "\n".join(ln[:240] for ln in tail),
        "suspicious_content": report(suspicious) if suspicious else None,
    }
