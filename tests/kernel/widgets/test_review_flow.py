"""The review panel's fast flow against a real server: keys, sort and filters, the reviewer's
count, corrections, bulk decisions with one confirmation, re-check and export.

Keys are sent the way the browser sends them: the dict ipyevents posts for a ``keydown``, given
to the handler the panel's ipyevents widget registered for its comm messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from resync_ext.kernel.errors import ApiError
from resync_ext.kernel.review_client import ReviewClient, not_offered, raw_response
from resync_ext.kernel.widgets.review_panel import ReviewPanel
from tests.kernel.widgets.server import RunningServer, seed_batch
from tests.kernel.widgets.test_review_parts import key

pytestmark = pytest.mark.slow

TURNS = [
    ("tws-troubleshooter", "Why did PAYROLL_EXTRACT abend at night?"),
    ("tws-troubleshooter", "What broke PAYROLL_EXTRACT in its last run?"),
    ("tws-analyzer", "What error stopped PAYROLL_EXTRACT?"),
    ("tws-analyzer", "Is PAYROLL_EXTRACT safe to rerun now?"),
]
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
    """Press a key over the panel's cards, as ipyevents reports it."""
    panel.shortcuts.event._handle_mouse_msg(None, key(name, **extra), [])


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
    assert panel.shortcuts.paused and panel.shortcuts.event.watched_events == []
    press(panel, "a")
    assert server_item(server, batch, second)["status"] == "pending"
    card.comment.value = "Matches the job log."  # Enter in the box: it is kept, keys resume
    assert not panel.shortcuts.paused and panel.shortcuts.event.watched_events == ["keydown"]
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
