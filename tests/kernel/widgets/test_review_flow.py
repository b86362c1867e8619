"""The review panel's fast flow against a real server: keys, sort and filters, the reviewer's
count, corrections, bulk decisions with one confirmation, re-check and export.

Keys are sent the way the browser sends them: the dict the key listener's front end posts for
a ``keydown``, given to the handler the listener widget registered for its custom messages.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resync_ext.evaluation.cases import load_case
from resync_ext.kernel.errors import ApiError
from resync_ext.kernel.review_client import (
    ReviewClient,
    case_file_name,
    not_offered,
    raw_response,
)
from resync_ext.kernel.widgets.review_panel import ReviewPanel
from resync_ext.kernel.widgets.review_view import metrics_text
from tests.kernel.widgets.server import RunningServer, seed_batch
from tests.kernel.widgets.test_review_parts import key

pytestmark = pytest.mark.slow

TURNS = [
    ("tws-troubleshooter", "Why did PAYROLL_EXTRACT abend at night?"),
    ("tws-troubleshooter", "What broke PAYROLL_EXTRACT in its last run?"),
    ("tws-analyzer", "What error stopped PAYROLL_EXTRACT?"),
    ("tws-analyzer", "Is PAYROLL_EXTRACT safe to rerun now?"),
]
#: Seconds the server keeps a plan read (the TWS client's TTL cache), and a little more.
CACHE_TTL_S = 11.0
#: The loopback judge doubts each answer with another confidence (found by the question's
#: words), so the batch holds a mix to sort. Below the auto-reject threshold: all are flagged.
VERDICTS = {
    words: {"verdict": "incorrect", "confidence": c, "reason": f"Doubtful ({c})."}
    for words, c in (
        ("abend at night", 0.2),
        ("its last run", 0.5),
        ("error stopped", 0.85),
        ("safe to rerun", 0.5),
    )
}


@pytest.fixture(scope="module")
def seeded(server: RunningServer) -> tuple[str, list[str]]:
    """One batch holding the four turns, judged with different confidences."""
    server.lm.verdicts = dict(VERDICTS)
    try:
        return asyncio.run(seed_batch(server, TURNS))
    finally:
        server.lm.verdicts = {}


@pytest.fixture
def panel(server: RunningServer, seeded: tuple[str, list[str]]) -> Iterator[ReviewPanel]:
    panel = ReviewPanel(server.client())
    panel.batch_picker.value = seeded[0]
    yield panel
    panel.close()


def press(panel: ReviewPanel, name: str, **extra: Any) -> None:
    """Press a key over the panel's cards, as the front end reports it (a custom message)."""
    panel.shortcuts.listener._handle_custom_msg(key(name, **extra), [])


def server_item(server: RunningServer, batch: str, memory_id: str) -> dict[str, Any]:
    with server.client() as client:
        items = client.batch(batch)["items"]
    return next(i for i in items if i["memory_id"] == memory_id)


def test_sort_and_filter_by_verdict_confidence_and_agent(
    panel: ReviewPanel, seeded: tuple[str, list[str]]
) -> None:
    _batch, (pay, daily, late, sales) = seeded
    items = {i["memory_id"]: i for i in panel._items()}
    confidences = {m: items[m]["confidence"] for m in (pay, daily, late, sales)}
    verdicts = {items[m]["verdict"] for m in (pay, daily, late, sales)}
    assert len(set(confidences.values())) >= 3, items  # a real mix to sort

    shown = lambda: [c.memory_id for c in panel.cards]  # noqa: E731
    panel.sort.value = "confidence_desc"
    order = [confidences[m] for m in shown() if m in confidences]
    assert order == sorted(order, reverse=True)
    panel.sort.value = "verdict"
    rank = {"incorrect": 0, "suspicious": 1, "ok": 2}
    ranks = [rank.get(items[m]["verdict"], 3) for m in shown() if m in items]
    assert ranks == sorted(ranks)
    options = [v for _label, v in panel.verdict_filter.options]
    assert options[0] == "" and set(options[1:]) == {i["verdict"] for i in items.values()}
    for verdict in verdicts:
        panel.verdict_filter.value = verdict
        assert panel.cards and all(c.item["verdict"] == verdict for c in panel.cards)
    panel.verdict_filter.value = ""
    cut = sorted(confidences.values())[-1]
    panel.min_confidence.value = cut
    assert panel.cards and all(c.item["confidence"] >= cut for c in panel.cards)
    assert len(panel.cards) < len(items)
    panel.min_confidence.value = 0.0
    panel.agent_filter.value = "tws-analyzer"
    assert {late, sales} <= set(shown())
    assert all(c.item["agent_id"] == "tws-analyzer" for c in panel.cards)
    assert f"Showing {len(panel.cards)} of {len(items)}" in panel.shown.value


def test_keyboard_flow_moves_comments_decides_and_counts(
    panel: ReviewPanel, server: RunningServer, seeded: tuple[str, list[str]]
) -> None:
    batch, ids = seeded
    panel.pending_only.value = True
    first, second, third = (c.memory_id for c in panel.cards[:3])
    me = panel.reviewer
    assert me and panel.mine.value.startswith(f"<b>you ({me}): ")
    today_before = int(panel.mine.value.split(": ")[1].split(" ")[0])

    press(panel, "?")
    assert "j next · k previous · a approve · r reject · c comment" in panel.keys_help.value
    press(panel, "j")  # the first key picks the first card
    assert panel.current == first and "resync-card-current" in panel.cards[0]._dom_classes
    press(panel, "j")
    press(panel, "j")
    press(panel, "k")
    assert panel.current == second
    assert "resync-card-current" not in panel.cards[0]._dom_classes

    # c opens the comment box and pauses the keys: an "a" typed there approves nothing.
    press(panel, "c")
    card = panel.card(second)
    assert card is not None and card.comment_box.is_open and not card.comment.disabled
    assert panel.shortcuts.paused
    press(panel, "a")
    assert server_item(server, batch, second)["status"] == "pending"
    card.comment.value = "Matches the job log."  # Enter in the box: it is kept, keys resume
    assert not panel.shortcuts.paused
    assert card.comment.disabled

    press(panel, "a")
    stored = server_item(server, batch, second)
    assert stored["status"] == "approved" and stored["comment"] == "Matches the job log."
    assert stored["decided_by"] == me
    # Pending only: the decided card left the list, the next one is current.
    assert second not in {c.memory_id for c in panel.cards} and panel.current == third
    press(panel, "r", repeat=True)  # a held key does not decide
    press(panel, "r", ctrlKey=True)  # nor a chord
    assert server_item(server, batch, third)["status"] == "pending"
    press(panel, "r")
    assert server_item(server, batch, third)["status"] == "rejected"
    assert f"you ({me}): {today_before + 2} decided today" in panel.mine.value

    # e opens the correction editor on the current card (keys paused), Cancel closes it.
    current = panel.card(panel.current)
    assert current is not None
    press(panel, "e")
    if "correct" not in panel.unavailable:
        assert current.editor.is_open and panel.shortcuts.paused
        assert current.editor.answer.value == current.item["answer"]
        current.editor.cancel_button.click()
        assert not current.editor.is_open and not panel.shortcuts.paused
    assert first in ids


def test_a_missing_endpoint_is_told_apart_and_disables_its_buttons(
    panel: ReviewPanel, server: RunningServer
) -> None:
    review = ReviewClient(panel.client)
    with pytest.raises(ApiError) as router:
        raw_response(review.client, "GET", "resync/api/audit/no-such-thing")
    assert not_offered(router.value)  # Jupyter's router: the server lacks the endpoint
    with pytest.raises(ApiError) as queue:
        review.decide("00000000-0000-4000-8000-000000000000", "approve")
    assert queue.value.status == 404 and not not_offered(queue.value)  # Resync's own 404
    panel.mark_unavailable("bulk")
    panel.mark_unavailable("recheck")
    panel._render_cards()
    assert panel.bulk.approve_button.disabled and panel.bulk.reject_button.disabled
    assert "no bulk review" in panel.bulk.approve_button.tooltip
    assert all(c.recheck_button.disabled for c in panel.cards)
    assert "cannot re-check" in panel.cards[0].recheck_button.tooltip
    assert "Not available: " in panel.limits.value and "buttons disabled" in panel.limits.value


CORRECTED = "PAYROLL_EXTRACT abended with ORA-01017: the password of its database user expired."
MORE = [
    ("tws-troubleshooter", "Why is PAYROLL_EXTRACT in error today?"),
    ("tws-troubleshooter", "Did PAYROLL_EXTRACT end badly?"),
    ("tws-troubleshooter", "What happened to PAYROLL_EXTRACT overnight?"),
]


def test_correct_export_and_recheck_from_a_card(server: RunningServer, tmp_path: Path) -> None:
    batch, (fixed, other, _third) = asyncio.run(seed_batch(server, MORE))
    panel = ReviewPanel(server.client())
    panel.export_dir = tmp_path
    try:
        panel.batch_picker.value = batch
        assert panel.unavailable == {} and panel.limits.value == "", "the server offers them all"
        card = panel.card(fixed)
        assert card is not None
        card.correct_button.click()
        assert card.editor.is_open and panel.shortcuts.paused
        assert card.editor.answer.value == card.item["answer"]  # prefilled with the answer
        card.editor.save_button.click()  # unchanged: refused in the card, nothing sent
        assert "same as before" in card.editor.note.value
        assert server_item(server, batch, fixed)["status"] == "pending"
        card.editor.answer.value = CORRECTED
        card.editor.wrong_claim.value = "the job was not rerun by anyone"
        card.editor.save_button.click()

        stored = server_item(server, batch, fixed)
        assert stored["status"] == "approved" and stored["corrected_answer"] == CORRECTED
        assert stored["wrong_claim"] == "the job was not rerun by anyone"
        assert stored["answer"] != CORRECTED, "the original is kept beside the correction"
        assert not panel.shortcuts.paused and "Corrected:" in panel.message.value
        card = panel.card(fixed)
        assert card is not None and card.correct_button.disabled
        assert (
            "approved</span> <span" in card.header.value
            and ">corrected</span>" in card.header.value
        )
        body = card.body.value
        assert body.index("Corrected answer") < body.index("Original answer")
        assert "password of its database user expired" in body
        assert "the job was not rerun by anyone" in body

        # Export: the resync-eval case is written beside the notebook and shown.
        card.export_button.click()
        path = tmp_path / case_file_name(fixed)
        case = load_case(path)
        assert case.question == stored["question"]
        assert "Saved the eval case to" in card.note.value and str(path) in card.note.value
        assert "resync-eval-case" in card.note.value

        # Re-check: nothing changed yet; then the job is rerun and succeeds on the plan.
        target = panel.card(other)
        assert target is not None
        target.recheck_button.click()
        first = panel.rechecks[other]
        answered = str(first["answered_at"])
        if first["changes"]:  # what the server found different, each named
            assert f"Changed since {answered[11:16]}" in target.recheck_out.value
            for change in first["changes"]:
                assert html.escape(change["what"]) in target.recheck_out.value
        else:
            assert f"nothing changed since {answered[11:16]}" in target.recheck_out.value
        plan = server.sim.plan
        with plan.lock:
            [job] = [j for j in plan.jobs if j.name == "PAYROLL_EXTRACT"]
            before = job.run.status, job.run.return_code
            job.run.status, job.run.return_code = "SUCC", 0
        try:
            time.sleep(CACHE_TTL_S)  # the server keeps a plan read that long
            target.recheck_button.click()
        finally:
            with plan.lock:
                job.run.status, job.run.return_code = before
        shown = target.recheck_out.value
        assert f"Changed since {answered[11:16]}" in shown and "SUCC" in shown, shown
        assert "PAYROLL_EXTRACT: status changed" in shown
        assert panel.card(other) is target, "a re-check does not rebuild the cards"
    finally:
        panel.close()


def test_bulk_approval_needs_one_confirmation_then_shows_the_metrics(
    server: RunningServer,
) -> None:
    batch, (one, two, three) = asyncio.run(seed_batch(server, MORE))
    panel = ReviewPanel(server.client())
    try:
        panel.batch_picker.value = batch
        panel.sort.value = "queue"
        order = [c.memory_id for c in panel.cards]
        for memory_id in (one, two):  # select two cards with the keys: s on each
            while panel.current != memory_id:
                press(panel, "j" if order.index(memory_id) > _at(order, panel.current) else "k")
            press(panel, "s")
        assert panel.selected == {one, two}
        assert next(label for label, _v in panel.bulk.scope.options) == "Selected (2)"

        panel.bulk.comment.value = "checked against the job logs"
        panel.bulk.approve_button.click()
        assert "Approve 2 selected items?" in panel.bulk.question.value
        assert {server_item(server, batch, m)["status"] for m in (one, two)} == {"pending"}
        panel.bulk.confirm_button.click()
        for memory_id in (one, two):
            stored = server_item(server, batch, memory_id)
            assert stored["status"] == "approved"
            assert stored["comment"] == "checked against the job logs"
        assert server_item(server, batch, three)["status"] == "pending"
        assert "Bulk: 2 of 2 decided." in panel.message.value and panel.selected == set()

        # The rest, by filter: every pending card shown, rejected after the confirmation.
        panel.pending_only.value = True
        panel.bulk.scope.value = "shown"
        panel.bulk.reject_button.click()
        assert "Reject 1 shown item?" in panel.bulk.question.value
        panel.bulk.confirm_button.click()
        assert server_item(server, batch, three)["status"] == "rejected"
        with server.client() as client:
            metrics = client.metrics()
        assert metrics["auditor_precision"] is not None
        assert metrics_text(metrics) in html.unescape(panel.metrics_line.value)
        assert "precision" in panel.metrics_line.value
    finally:
        panel.close()


def _at(order: list[str], memory_id: str | None) -> int:
    return order.index(memory_id) if memory_id in order else -1
