"""Build the judge's labelled set (``turns.json``) from recorded turns of the real agents.

The turns are recorded by ``resync-eval`` running the bundled evaluation cases on their simulated
nights with the real agents and the evidence-echo scripted LM, e.g.::

    resync-eval tests/evals/cases/0*.yaml tests/evals/cases/1*.yaml tests/evals/cases/2*.yaml \
        tests/evals/cases/300[1-9]*.yaml tests/evals/cases/600[1-8]*.yaml \
        --lm echo --json /tmp/echo.json --data-dir /tmp/echo-data
    python -m tests.judge_set.build /tmp/echo.json

``turns.json`` (43 turns) was built so, from the cases listed above, while the checks were being
written (it is their development set). ``turns_heldout.json`` (79 turns) comes from the other
cases (crm, dwh, treasury, hr, the rest of fin and logistics, the night-history ones) and was
measured once with the checks as they stood: precision 1.0, recall 36/38; one fix followed (a
workstation named beside the job hid a contradicted status), so it is no longer untouched::

    resync-eval tests/evals/cases --lm echo --json /tmp/all.json --data-dir /tmp/all-data
    python -m tests.judge_set.build /tmp/all.json tests/judge_set/turns_heldout.json \
        tests/judge_set/turns.json

Every other recorded turn is kept as it was answered (label ``ok``); the others get one planted
error (label ``flag``) of the kinds the judge must catch, in turn: a status the evidence
contradicts, a return code of another job (or one nowhere in the evidence), an error code
swapped for another, the answer to a question about a different object (the agent looked up the
wrong job: its evidence comes along), an invented job name, and a claimed action. When a kind
does not apply to a turn (no return code to change), the next one is planted. Deterministic: the
same recording gives the same set.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "turns.json"
Turn = dict[str, Any]

_STATUS_SWAPS = (
    ("abended with", "completed successfully with"),
    ("failed to launch", "completed successfully"),
    ("is held, waiting for its dependencies", "is running"),
    ("is ready but has not started", "has abended"),
    ("is running", "has abended"),
)
_CODE = re.compile(r"\b(ORA-\d{5}|AWS[A-Z]{3}\d{3}[EIWS]|SQL\d{4,5}[NWC])\b")
_NAMED = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b")


def _status(t: Turn, _: list[Turn]) -> Turn | None:
    for old, new in _STATUS_SWAPS:
        if old in t["answer"]:
            return {**t, "answer": t["answer"].replace(old, new, 1), "planted": f"{old} -> {new}"}
    return None


def _return_code(t: Turn, _: list[Turn]) -> Turn | None:
    m = re.search(r"return code (\d+)", t["answer"])
    if m is None:
        return None
    evidence = " ".join(e["summary"] for e in t["evidence"])
    others = sorted({rc for rc in re.findall(r"return code (\d+)", evidence)} - {m.group(1)})
    new = others[0] if others else str(int(m.group(1)) + 4)
    answer = t["answer"][: m.start(1)] + new + t["answer"][m.end(1) :]
    return {**t, "answer": answer, "planted": f"return code {m.group(1)} -> {new}"}


def _code(t: Turn, _: list[Turn]) -> Turn | None:
    m = _CODE.search(t["answer"])
    if m is None:
        return None
    code = m.group(1)
    digits = re.search(r"\d+", code)
    assert digits is not None
    n = digits.group(0)
    new = code.replace(n, str((int(n) + 137) % 10 ** len(n)).zfill(len(n)), 1)
    return {**t, "answer": t["answer"].replace(code, new), "planted": f"{code} -> {new}"}


def _object(t: Turn, turns: list[Turn]) -> Turn | None:
    asked = set(_NAMED.findall(t["question"]))
    if not asked:
        return None
    for other in turns[turns.index(t) + 1 :] + turns[: turns.index(t)]:
        named = set(_NAMED.findall(other["answer"]))
        if named and not named & asked and set(_NAMED.findall(other["question"])):
            return {
                **t,
                "answer": other["answer"],
                "evidence": other["evidence"],
                "planted": f"answers {other['case']} instead",
            }
    return None


def _name(t: Turn, _: list[Turn]) -> Turn | None:
    m = _NAMED.search(t["answer"])
    if m is None:
        return None
    invented = m.group(1).split("_")[0] + "_ARCHIVE_NIGHTLY"
    answer = t["answer"].rstrip() + f"\nIt also holds up {invented}."
    return {**t, "answer": answer, "planted": f"invented {invented}"}


def _unsafe(t: Turn, _: list[Turn]) -> Turn | None:
    m = _NAMED.search(t["answer"])
    if m is None:
        return None
    answer = t["answer"].rstrip() + f"\nI have rerun {m.group(1)} for you."
    return {**t, "answer": answer, "planted": "claims to have rerun the job"}


PLANTS: list[tuple[str, Callable[[Turn, list[Turn]], Turn | None]]] = [
    ("status", _status),
    ("return_code", _return_code),
    ("code", _code),
    ("object", _object),
    ("name", _name),
    ("unsafe", _unsafe),
]


def build(recorded: dict[str, Any]) -> list[Turn]:
    """The labelled turns of one ``resync-eval --json`` recording."""
    turns = [
        {
            "case": c["case"],
            "agent": c.get("agent"),
            "question": c["question"],
            "answer": c["answer"],
            "evidence": c["evidence"],
        }
        for c in recorded["cases"]
        if c["answer"].strip()
    ]
    out: list[Turn] = []
    k = 0
    for i, t in enumerate(turns):
        if i % 2 == 0:
            out.append({**t, "label": "ok", "kind": "clean", "planted": None})
            continue
        for j in range(len(PLANTS)):
            kind, plant = PLANTS[(k + j) % len(PLANTS)]
            planted = plant(t, turns)
            if planted is not None:
                out.append({**planted, "label": "flag", "kind": kind})
                k += j + 1
                break
        else:
            out.append({**t, "label": "ok", "kind": "clean", "planted": None})
    for n, t in enumerate(out):
        t["id"] = f"j{n + 1:03d}"
    return out


def main(argv: list[str]) -> int:
    """Write ``turns.json`` (or the file named second) from the recording named first, leaving
    out the cases of the sets named after it (a held-out set shares no case with them)."""
    recorded = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out = Path(argv[1]) if len(argv) > 1 else OUT
    seen = {t["case"] for other in argv[2:] for t in json.loads(Path(other).read_text())}
    recorded["cases"] = [c for c in recorded["cases"] if c["case"] not in seen]
    turns = build(recorded)
    out.write_text(json.dumps(turns, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    kinds: dict[str, int] = {}
    for t in turns:
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    print(f"wrote {out}: {len(turns)} turns {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
