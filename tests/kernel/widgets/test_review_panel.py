"""ReviewPanel against a real server: decisions go to the REST API and the panel shows its state;
Run audit now runs a pass in the background and shows what it filed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from resync_ext.kernel.client import ResyncClient
from resync_ext.kernel.widgets.review_panel import ReviewPanel
from tests.kernel.widgets.server import (
    VERDICT,
    RunningServer,
    free_port,
    remember_unaudited,
    seed_batch,
)

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


async def until(check: Any, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


def audit_passes(server: RunningServer) -> int:
    """How many audit passes the server has recorded."""
    path = server.data_dir / "audit" / "passes.jsonl"
    return len(path.read_text().splitlines()) if path.is_file() else 0


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
    # The answer, as Markdown: the known issue's steps, written by code, are a numbered list.
    assert "<li>Check the credentials the job uses" in body
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


@pytest.mark.asyncio
async def test_run_audit_now_flags_new_memories_in_the_background_and_shows_them(
    server: RunningServer,
) -> None:
    question = "Why is SALES_STAGE still waiting after the disk was cleaned?"
    [memory_id] = await remember_unaudited(server, [("tws-troubleshooter", question)])
    panel = ReviewPanel(server.client())
    try:
        assert memory_id not in {c.memory_id for c in panel.cards}
        assert not panel.audit_button.disabled and panel.audit_status.value == ""
        passes, judged = audit_passes(server), server.lm.judge_calls
        server.lm.judge_delay_s = 2.0  # each verdict takes 2 s: the pass is watched as it runs
        try:
            panel.audit_button.click()
            task = panel.audit_task
            assert task is not None
            # The click returned at once: this loop (the kernel's) runs while the server judges.
            await until(lambda: server.lm.judge_calls > judged, timeout=30)
            assert not task.done()
            assert panel.audit_button.disabled and "Auditing" in panel.audit_status.value
            panel.audit_button.click()  # a second click while it runs does nothing
            assert panel.audit_task is task
            await asyncio.wait_for(task, 90)
        finally:
            server.lm.judge_delay_s = 0.0

        assert audit_passes(server) == passes + 1, "two clicks, one pass"
        summary = panel.last_audit
        assert summary is not None and summary["flagged"] >= 1 and summary["batch"]
        assert not panel.audit_button.disabled
        status = panel.audit_status.value
        assert (
            f"Audited {summary['audited']}: {summary['ok']} ok, {summary['flagged']} flagged, "
            f"{summary['rejected']} rejected in {summary['seconds']:.1f} s." in status
        )
        assert summary["seconds"] >= 2.0 and f"Flagged items are in {summary['batch']}" in status
        # The queue was re-read: the batch of the pass is shown, with the new memory's card.
        assert panel.batch_picker.value == summary["batch"]
        card = card_for(panel, memory_id)
        assert question in card.body.value and "suspicious" in card.body.value
        assert not card.approve_button.disabled
    finally:
        panel.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "token", "shown"),
    [
        (None, "not-the-token", "the server refused the token"),  # HTTP 403
        ("http://127.0.0.1:{port}/", "t0k", "did not answer"),  # nothing listens there
    ],
    ids=["refused", "unreachable"],
)
async def test_run_audit_now_shows_an_error_and_can_be_tried_again(
    server: RunningServer, url: str | None, token: str, shown: str
) -> None:
    client = ResyncClient(server.url if url is None else url.format(port=free_port()), token)
    panel = ReviewPanel(client)
    try:
        passes = audit_passes(server)
        panel.audit_button.click()
        first = panel.audit_task
        assert first is not None and panel.audit_button.disabled
        await asyncio.wait_for(first, 30)
        status = panel.audit_status.value
        assert shown in status and "resync-error" in status and "Audited" not in status
        assert not panel.audit_button.disabled and panel.last_audit is None
        panel.audit_button.click()  # enabled again: a new attempt starts
        assert panel.audit_task is not first and panel.audit_task is not None
        await asyncio.wait_for(panel.audit_task, 30)
        assert audit_passes(server) == passes
    finally:
        panel.close()


async def test_run_audit_now_shows_the_503_of_a_server_without_its_memory_store(
    jp_serverapp: Any, jp_http_port: int, http_server: Any
) -> None:
    # pytest-jupyter's in-process server (open_memory off: no audit service) answers on this
    # test's loop, so the panel, whose first read is synchronous, is built in a thread.
    url = f"http://127.0.0.1:{jp_http_port}{jp_serverapp.base_url}"
    client = ResyncClient(url, jp_serverapp.identity_provider.token)
    panel = await asyncio.to_thread(ReviewPanel, client)
    try:
        assert "No review batch is open" in panel.shown.value
        panel.audit_button.click()
        assert panel.audit_task is not None and panel.audit_button.disabled
        await asyncio.wait_for(panel.audit_task, 30)
        status = panel.audit_status.value
        assert "the audit service is not available (HTTP 503" in status, status
        assert not panel.audit_button.disabled and panel.last_audit is None
    finally:
        panel.close()
