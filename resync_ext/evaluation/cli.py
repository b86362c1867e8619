"""``resync-eval``: ask agents the questions of evaluation cases on simulated plans, grade them.

    resync-eval CASE_FILE_OR_DIR... [--agent ID] [--json OUT] [--lm local|echo|PROVIDER_ID]
                [--sequence]

Each case (YAML or JSON, SPEC.md §8) names a scenario (a path relative to the case file, or an
inline mapping), a question, optional earlier questions of the same conversation (``history``),
an optional agent, its ``tags`` and what the answer must contain. Questions go through the chat's
own turn (``resync_ext.chat.turns.TurnService``: past-turn retrieval, the agent, the memory) with
the simulator in-process on a free loopback port and the agent built from config/runtime.json,
asked with the configured LM (``RESYNC_LM_MODEL`` etc., default the embedded model). ``--lm echo``
is a scripted LM that answers with the evidence it was given: it measures the pre-analysis alone.

By default each case runs alone on a fresh simulator; a case with ``history`` asks its earlier
questions first, with the real embedded memory store on (what they leave is deleted afterwards).
``--sequence`` asks all the cases of one scenario one after another on one simulator, all cases on
one memory store (the real embedded store in a temporary directory), as users of one server
would: what earlier turns leave behind can then leak into later answers, and grading shows it.

Every answer is graded for ``mentions``/``any_of``/``must_not``/``tools``, for grounding (each
object name and error code in it appears in the evidence of this turn or of the conversation's
earlier turns, or in the question) and for degeneracy (a phrase repeated over and over). Prints
one line per case, the pass rate per tag, the median and p90 seconds per turn, and last
``N passed, M failed``; exits 0 only when every case passed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from resync_ext.evaluation.cases import collect
from resync_ext.evaluation.report import report
from resync_ext.evaluation.run import run_all

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``resync-eval``."""
    parser = argparse.ArgumentParser(prog="resync-eval", description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="+", help="case files or directories")
    parser.add_argument("--agent", help="ask this agent instead of each case's own")
    parser.add_argument("--json", dest="json_out", help="write the results to this JSON file")
    parser.add_argument(
        "--lm",
        help="'local', 'echo' (evidence baseline) or a provider id; "
        "default RESYNC_LM_MODEL or local",
    )
    parser.add_argument(
        "--sequence",
        action="store_true",
        help="ask the cases of each scenario one after another on one simulator, all on one "
        "memory store, as the users of one server would",
    )
    parser.add_argument("--config", default=str(PROJECT_ROOT / "config" / "runtime.json"))
    parser.add_argument(
        "--data-dir", default=os.environ.get("RESYNC_DATA_DIR") or "~/.local/share/resync"
    )
    args = parser.parse_args(argv)
    files = collect(args.cases)
    if not files:
        print("resync-eval: no case files found", file=sys.stderr)
        return 2
    results = asyncio.run(
        run_all(
            files,
            agent=args.agent,
            lm_choice=args.lm,
            config=Path(args.config),
            data_dir=Path(args.data_dir).expanduser(),
            sequence=args.sequence,
        )
    )
    all_passed = report(
        results, Path(args.json_out) if args.json_out else None, sequence=args.sequence
    )
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
