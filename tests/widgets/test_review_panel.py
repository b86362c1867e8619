"""ReviewPanel against a real server: decisions go to the REST API and the panel shows its state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from resync_ext.widgets.review_panel import ReviewPanel
from tests.widgets.server import VERDICT, RunningServer, seed_batch

pytestmark = pytest.mark.slow

TURNS = [
    ("tws-troubleshooter", "Why did PAYROLL_EXTRACT fail on Monday?"),
    ("tws-troubleshooter", "What stops DAILY_PAY from starting?"),
    ("tws-analyzer", "Which critical jobs are late tonight?"),
]


@pytest.fixture(scope="module")
def seeded(server: RunningServer) -> tuple[str, list[str]]:
    """One batch holding the three turns, flagged by the server's auditor."""
    return asyncio.run(seed_batch(server, TURNS))


@pytest.fixture
def panel(server: RunningServer) -> Iterator[ReviewPanel]:
    panel = ReviewPanel(server.client())
    yield panel
    panel.close()


def card_for(panel: ReviewPanel, memory_id: str) -> Any:
    return next(c for c in panel.cards if c.memory_id == memory_id)


def server_item(server: RunningServer, batch: str, memory_id: str) -> dict[str, Any]:
    with server.client() as client:
        items = client.batch(batch)["items"]
    return next(i for i in items if i["memory_id"] == memory_id)


def test_cards_filters_decisions_progress_and_archive(
    panel: ReviewPanel, server: RunningServer, seeded: tuple[str, list[str]]
) -> None:
    batch, (pay, daily, late) = seeded
    panel.batch_picker.value = batch
    labels = dict((v, k) for k, v in panel.batch_picker.options)
    total = len(panel.batch["items"]) if panel.batch else 0
    assert total >= 3 and f"{total} pending of {total}" in labels[batch]
    assert len(panel.cards) == total
    assert panel.progress_label.value == f"<b>0 of {total} decided</b>"
    assert panel.archive_button.layout.display == "none"
    card = card_for(panel, pay)
    body = card.body.value
    assert "Why did PAYROLL_EXTRACT fail on Monday?" in body
    assert "<strong>PAYROLL_EXTRACT</strong>" in body  # the answer, as Markdown
    assert "suspicious" in body and "confidence 60%" in body and VERDICT["reason"] in body
    assert body.count("<details>") >= 2 and "get_job_log" in body  # the evidence rows
    assert "pending" in card.header.value and not card.approve_button.disabled

    # Filters and search only choose what is shown.
    panel.agent_filter.value = "tws-analyzer"
    assert late in {c.memory_id for c in panel.cards}
    assert all(c.item["agent_id"] == "tws-analyzer" for c in panel.cards)
    panel.agent_filter.value = ""
    panel.search.value = "daily_pay starting"
    assert [c.memory_id for c in panel.cards] == [daily]
    panel.search.value = ""

    # Approve with a comment: the server records it, the panel shows the server's state.
    card.comment.value = "Right cause; the rerun advice says to confirm first."
    card.approve_button.click()
    stored = server_item(server, batch, pay)
    assert stored["status"] == "approved" and stored["comment"].startswith("Right cause")
    assert stored["decided_by"] and stored["decided_at"]
    card = card_for(panel, pay)
    assert card.approve_button.disabled and card.reject_button.disabled
    assert "approved" in card.header.value and "Right cause" in card.header.value
    assert panel.progress.value == 1
    assert panel.progress_label.value == f"<b>1 of {total} decided</b>"
    panel.pending_only.value = True
    assert pay not in {c.memory_id for c in panel.cards}
    assert len(panel.cards) == total - 1
    assert panel.archive_button.layout.display == "none"

    # Reject the rest; the Archive button appears only then.
    while panel.cards:
        panel.cards[0].reject_button.click()
    assert server_item(server, batch, daily)["status"] == "rejected"
    panel.pending_only.value = False
    assert panel.progress_label.value == f"<b>{total} of {total} decided</b>"
    assert panel.archive_button.layout.display is None
    panel.archive_button.click()
    with server.client() as client:
        assert batch not in {b["name"] for b in client.batches()}
    assert batch not in {v for _k, v in panel.batch_picker.options}
    assert f"Archived {batch}" in panel.message.value


def test_a_stale_panel_shows_the_servers_answer_not_its_own_copy(
    server: RunningServer,
) -> None:
    batch, (first, *_rest) = asyncio.run(seed_batch(server, TURNS[:2]))
    mine, theirs = ReviewPanel(server.client()), ReviewPanel(server.client())
    try:
        for p in (mine, theirs):
            p.batch_picker.value = batch
        card_for(theirs, first).approve_button.click()
        # My panel still shows it pending; my reject is refused by the server (409).
        card_for(mine, first).reject_button.click()
        assert "409" in mine.message.value and "conflict" in mine.message.value
        assert server_item(server, batch, first)["status"] == "approved"
        assert "approved" in card_for(mine, first).header.value, "refreshed from the server"
        assert mine.progress.value == 1
    finally:
        mine.close()
        theirs.close()
