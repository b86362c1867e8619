"""The judge's labelled set: its shape, and what the deterministic checks and a flag-everything
LM behind them score on it (the embedded model's figures come from ``make bench``)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from benchmarks.bench_judge import judge_all, load_set, scores, scripted
from resync_ext.audit.judge import CheckedJudge


@pytest.mark.parametrize("name", ["turns", "turns_heldout"])
def test_the_sets_hold_recorded_turns_about_half_with_planted_errors(name: str) -> None:
    turns = load_set(name)
    assert len(turns) >= 40
    labels = Counter(t["label"] for t in turns)
    assert 0.4 <= labels["flag"] / len(turns) <= 0.6
    kinds = Counter(t["kind"] for t in turns if t["label"] == "flag")
    assert {"status", "return_code", "object", "name", "unsafe"} <= set(kinds)
    assert all(t["evidence"] and t["question"] and t["answer"] for t in turns)
    assert len({t["id"] for t in turns}) == len(turns)


def test_the_two_sets_share_no_case() -> None:
    dev = {t["case"] for t in load_set("turns")}
    assert not dev & {t["case"] for t in load_set("turns_heldout")}


@pytest.mark.parametrize(
    ("name", "precision", "recall"), [("turns", 1.0, 1.0), ("turns_heldout", 1.0, 0.95)]
)
def test_the_checks_alone_catch_the_planted_errors_without_false_flags(
    name: str, precision: float, recall: float
) -> None:
    turns = load_set(name)
    flags, _ = asyncio.run(judge_all(CheckedJudge(None), turns))
    s = scores(turns, flags)
    assert s["precision"] >= precision and s["recall"] >= recall, s


def test_an_lm_that_doubts_every_claim_is_held_back_by_the_checks() -> None:
    # The embedded judge flagged every answer (0.8 each). Alone its precision is the
    # share of planted errors; behind the checks, a doubt that names claims they verified is
    # refuted, and only answers with nothing checkable stay flagged on its word.
    turns = load_set("turns") + load_set("turns_heldout")
    doubter = scripted("incorrect", 0.8, cite=True)
    alone = scores(turns, asyncio.run(judge_all(doubter, turns))[0])
    checked = scores(turns, asyncio.run(judge_all(CheckedJudge(doubter), turns))[0])
    assert alone["precision"] < 0.5 and alone["recall"] == 1.0
    assert checked["precision"] >= 0.9 and checked["recall"] >= 0.95
    # One that names nothing cannot be refuted: alone it flags everything; behind the checks its
    # doubt alone stays under the flag confidence (recorded on the memory, not queued), so the
    # queue holds what the checks found.
    vague = scripted("incorrect", 0.8)
    assert scores(turns, asyncio.run(judge_all(vague, turns))[0])["fp"] > 50
    behind = scores(turns, asyncio.run(judge_all(CheckedJudge(vague), turns))[0])
    assert behind["fp"] == 0 and behind["recall"] >= 0.95
