"""The review panel's parts that need no server: keys, filters and sort, counts, result lines."""

from __future__ import annotations

from typing import Any

import pytest

from resync_ext.kernel.review_client import case_file_name
from resync_ext.kernel.widgets.review_bulk import BulkBar, bulk_summary
from resync_ext.kernel.widgets.review_card import answer_html, recheck_html
from resync_ext.kernel.widgets.review_keys import KEYS, ReviewKeys, command_for, help_text
from resync_ext.kernel.widgets.review_view import (
    decided_today,
    filter_items,
    metrics_text,
    progress_text,
    sort_items,
    verdicts_of,
)


def key(name: str, **extra: Any) -> dict[str, Any]:
    """A keydown as the key listener's front end sends it from the browser."""
    event = {
        "event": "keydown",
        "type": "keydown",
        "key": name,
        "code": f"Key{name.upper()}",
        "repeat": False,
        "altKey": False,
        "ctrlKey": False,
        "metaKey": False,
        "shiftKey": name == "?",
        "timeStamp": 12.5,
        "location": 0,
        "target": {"tagName": "DIV", "id": "", "className": "resync-cards"},
    }
    event.update(extra)
    return event


ITEMS = [
    {"memory_id": "m1", "question": "q1 PAYROLL", "answer": "a", "agent_id": "tws-analyzer",
     "verdict": "suspicious", "confidence": 0.6, "reason": "r", "status": "pending"},
    {"memory_id": "m2", "question": "q2 DAILY", "answer": "a", "agent_id": "tws-troubleshooter",
     "verdict": "incorrect", "confidence": 0.7, "reason": "r", "status": "approved",
     "decided_by": "ann", "decided_at": "2026-12-05T08:00:00Z"},
    {"memory_id": "m3", "question": "q3 SALES", "answer": "a", "agent_id": "tws-troubleshooter",
     "verdict": "suspicious", "confidence": 0.9, "reason": "r", "status": "rejected",
     "decided_by": "bob", "decided_at": "2026-12-05T09:00:00Z"},
    {"memory_id": "m4", "question": "q4", "answer": "a", "agent_id": "tws-analyzer",
     "verdict": "ok", "confidence": 0.2, "reason": "r", "status": "approved",
     "decided_by": "ann", "decided_at": "2026-12-04T23:59:00Z"},
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "command"),
    [
        (key("j"), "next"),
        (key("k"), "previous"),
        (key("a"), "approve"),
        (key("r"), "reject"),
        (key("c"), "comment"),
        (key("e"), "correct"),
        (key("x"), "recheck"),
        (key("s"), "select"),
        (key("?"), "help"),
        (key("j", repeat=True), "next"),  # holding j walks the cards
        (key("a", repeat=True), None),  # holding a does not approve card after card
        (key("a", ctrlKey=True), None),  # the browser's and JupyterLab's chords
        (key("r", metaKey=True), None),
        (key("a", target={"tagName": "TEXTAREA"}), None),  # typing
        (key("e", target={"tagName": "INPUT"}), None),
        (key("q"), None),
        (key("a", event="keyup", type="keyup"), None),
    ],
)
def test_a_key_event_maps_to_one_command_or_none(event: dict[str, Any], command: str) -> None:
    assert command_for(event) == command


def test_the_help_line_names_every_key() -> None:
    text = help_text()
    for name, (_command, what) in KEYS.items():
        assert f"{name} {what}" in text


def test_keys_run_commands_and_pause_while_a_text_box_is_open() -> None:
    ran: list[str] = []
    keys = ReviewKeys(ran.append)
    try:
        assert keys.listener.shortcut_keys == list(KEYS)  # the keys the page gives up
        keys.listener._handle_custom_msg(key("j"), [])  # what the front end's message calls
        assert ran == ["next"]
        keys.pause("m1/comment")
        keys.pause("m1/correct")
        keys.listener._handle_custom_msg(key("a"), [])
        assert ran == ["next"]
        keys.resume("m1/comment")
        assert keys.paused and keys.handle(key("a")) is None
        keys.resume("m1/correct")
        keys.listener._handle_custom_msg(key("a"), [])
        assert ran == ["next", "approve"]
    finally:
        keys.close()


def test_filters_and_sorts() -> None:
    ids = lambda items: [i["memory_id"] for i in items]  # noqa: E731
    assert ids(filter_items(ITEMS, verdict="suspicious")) == ["m1", "m3"]
    assert ids(filter_items(ITEMS, min_confidence=0.65)) == ["m2", "m3"]
    assert ids(filter_items(ITEMS, agent="tws-analyzer", pending_only=True)) == ["m1"]
    assert ids(filter_items(ITEMS, search="daily")) == ["m2"]
    assert ids(sort_items(ITEMS, "verdict")) == ["m2", "m3", "m1", "m4"]
    assert ids(sort_items(ITEMS, "confidence_desc")) == ["m3", "m2", "m1", "m4"]
    assert ids(sort_items(ITEMS, "confidence_asc")) == ["m4", "m1", "m2", "m3"]
    assert ids(sort_items(ITEMS, "agent")) == ["m1", "m4", "m2", "m3"]
    assert ids(sort_items(ITEMS, "queue")) == ["m1", "m2", "m3", "m4"]
    assert verdicts_of(ITEMS) == ["incorrect", "suspicious", "ok"]


def test_reviewer_counts_and_metrics_line() -> None:
    assert decided_today(ITEMS, "ann", today="2026-12-05") == 1
    assert decided_today(ITEMS, "bob", today="2026-12-05") == 1
    assert decided_today(ITEMS, "ann", today="2026-12-04") == 1
    assert progress_text("ann", 12, 7) == "you (ann): 12 decided today, 7 left"
    line = metrics_text(
        {"auditor_precision": 0.5, "auditor_recall": 1.0, "kappa": {"value": 0.333, "items": 3},
         "audit_reject_confidence": 0.9}
    )  # fmt: skip
    assert line == (
        "Auditor vs reviewers: precision 50% · recall 100% · κ between reviewers 0.33"
        " · auto-reject at confidence ≥ 0.90"
    )
    none_yet = metrics_text({"auditor_precision": None, "kappa": {"value": None, "items": 0}})
    assert "not measured yet" in none_yet


def test_bulk_needs_one_confirmation_and_reports_refusals() -> None:
    sent: list[tuple[list[str], str, str | None]] = []
    bar = BulkBar(lambda scope: ["m1", "m2"] if scope == "shown" else ["m1"],
                  lambda ids, action, comment: sent.append((ids, action, comment)))  # fmt: skip
    bar.approve_button.click()
    assert bar.confirm_row.layout.display is None and sent == []
    assert "Approve 1 selected item?" in bar.question.value
    bar.cancel_button.click()
    assert bar.confirm_row.layout.display == "none" and sent == []
    bar.scope.value = "shown"
    bar.refresh_counts()  # the counts change; the scope chosen stays
    assert bar.scope.value == "shown"
    assert [label for label, _v in bar.scope.options] == ["Selected (1)", "Shown (2)"]
    bar.comment.value = "batch checked"
    bar.reject_button.click()
    assert "Reject 2 shown items?" in bar.question.value
    bar.confirm_button.click()
    bar.confirm_button.click()  # a second click sends nothing more
    assert sent == [(["m1", "m2"], "reject", "batch checked")]
    text, complete = bulk_summary(
        {"results": [{"memory_id": "m1", "status": "rejected"},
                     {"memory_id": "m2", "error": "already approved by ann"}]}, 2
    )  # fmt: skip
    assert not complete and text.startswith("Bulk: 1 of 2 decided. 1 refused (m2: already")


def test_corrected_answers_recheck_lines_and_file_names() -> None:
    html = answer_html(
        {"answer": "It failed with RC 12.", "corrected_answer": "It failed with `RC 8`.",
         "wrong_claim": "RC 12 <b>"}
    )  # fmt: skip
    assert html.index("Corrected answer") < html.index("Original answer")
    assert "<code>RC 8</code>" in html and "RC 12 &lt;b&gt;" in html
    assert "RC 12." in html
    same = recheck_html({"changes": [], "since": "2026-12-05T03:04:00Z"})
    assert "nothing changed since 03:04" in same
    changed = recheck_html(
        {"changes": [{"what": "PAYROLL_EXTRACT status", "then": "ABEND", "now": "SUCC"}],
         "since": "2026-12-05T03:04:00Z"}
    )  # fmt: skip
    assert "Changed since 03:04" in changed and "ABEND → <b>SUCC</b>" in changed
    assert case_file_name("ab/../c d:e") == "eval-case-ab-..-c-d-e.yaml"
    assert case_file_name("///") == "eval-case-memory.yaml"


def test_both_answers_of_a_card_go_through_the_chat_panels_sanitiser() -> None:
    html = answer_html(
        {
            "answer": "[x](https://evil.example/a) <script>alert(1)</script>",
            "corrected_answer": "<img src=x onerror=alert(1)> ![i](https://evil.example/p.png)",
        }
    )
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "x (https://evil.example/a)" in html  # a link is shown as text, never followed
    assert "[image: i (https://evil.example/p.png)]" in html  # an image is never loaded
