"""The review panel's fast flow in a real JupyterLab (Debian's chromium through Playwright).

The keys go through the real front end: the key listener's module (anywidget) sends the
browser's ``keydown`` events to the kernel while the pointer is over the cards, and leaves
the keys typed into a text box alone. A correction is typed into the card's editor and saved;
a bulk approval goes through its one confirmation. Each step is checked in the page and on the
server; screenshots go to ``test-output/browser/`` (``review-keys.png`` shows the help line,
``review-correct.png``, ``review-bulk-confirm.png``, ``review-bulk.png``).
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.labconfig import quiet_lab
from tests.browser.test_jupyterlab import LAB_CONFIG, SHOTS, chromium_page, open_and_run
from tests.kernel.widgets.server import LM_JUDGE, REPO, RunningServer, resync_server, seed_batch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TURNS = [
    ("tws-troubleshooter", "Why did PAYROLL_EXTRACT abend at night?"),
    ("tws-troubleshooter", "What broke PAYROLL_EXTRACT in its last run?"),
    ("tws-analyzer", "What error stopped PAYROLL_EXTRACT?"),
    ("tws-analyzer", "Is PAYROLL_EXTRACT safe to rerun now?"),
]
#: The loopback judge doubts every answer (below the auto-reject threshold: all are flagged).
VERDICTS = {
    words: {"verdict": "incorrect", "confidence": c, "reason": f"Doubtful ({c})."}
    for words, c in (
        ("abend at night", 0.2),
        ("its last run", 0.5),
        ("error stopped", 0.85),
        ("safe to rerun", 0.4),
    )
}
CORRECTED = "PAYROLL_EXTRACT abended with ORA-01017: the password of its database user expired."
CARD = ".resync-review .resync-card"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """JupyterLab with Resync over a copy of the review notebook."""
    base = tmp_path_factory.mktemp("lab-review")
    root = base / "work"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "review.ipynb", root / "notebooks" / "review.ipynb")
    quiet_lab(base)
    with resync_server(base, app="lab", root_dir=root, extra={**LAB_CONFIG, **LM_JUDGE}) as lab:
        yield lab


@pytest.fixture(scope="module")
def seeded(lab: RunningServer) -> Iterator[tuple[str, list[str]]]:
    """One batch with the four turns, flagged by the server's auditor."""
    lab.lm.verdicts = dict(VERDICTS)
    try:
        yield asyncio.run(seed_batch(lab, TURNS))
    finally:
        lab.lm.verdicts = {}


def items_of(lab: RunningServer, batch: str) -> dict[str, dict[str, Any]]:
    with lab.client() as client:
        return {i["memory_id"]: i for i in client.batch(batch)["items"]}


async def statuses(lab: RunningServer, batch: str) -> dict[str, str]:
    items = await asyncio.to_thread(items_of, lab, batch)
    return {m: str(i["status"]) for m, i in items.items()}


@pytest.mark.asyncio
async def test_1_keys_move_and_approve_with_the_help_line_shown(
    lab: RunningServer, seeded: tuple[str, list[str]]
) -> None:
    batch, ids = seeded
    async with chromium_page() as page:
        await open_and_run(page, lab, "review.ipynb", CARD)
        cards = page.locator(".resync-review .resync-cards")
        await cards.hover()  # the keys are listened to while the pointer is over the cards
        await page.keyboard.press("?")
        help_line = page.locator(".resync-review").get_by_text("j next · k previous")
        await help_line.wait_for()
        await page.keyboard.press("j")
        current = page.locator(".resync-card-current")
        await current.wait_for()
        first = re.search(r"memory (\S+)", await current.inner_text())
        assert first is not None
        await page.keyboard.press("j")
        await current.filter(has_not_text=first[1]).wait_for()  # moved to the second card
        await page.keyboard.press("k")
        await current.filter(has_text=first[1]).wait_for()  # and back to the first
        assert await current.count() == 1
        await help_line.scroll_into_view_if_needed()  # the help line above the current card
        await page.screenshot(path=str(SHOTS / "review-keys.png"))
        await cards.hover()
        assert await help_line.is_visible()
        # c: the comment box takes the keys (an "a" typed there is text), Enter keeps it;
        # then the keys decide again.
        await page.keyboard.press("c")
        box = current.locator(".resync-comment input")
        await page.wait_for_function(
            "() => document.activeElement?.closest('.resync-comment') !== null"
        )
        await page.keyboard.type("a match: ORA-01017 in the log")
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            "() => document.querySelector('.resync-card-current .resync-comment input')?.disabled"
        )
        assert await box.input_value() == "a match: ORA-01017 in the log"
        await page.keyboard.press("a")  # the pointer stayed over the cards all along
        await page.locator(".resync-card-approved").first.wait_for()
        assert "1 of" in await page.locator(".resync-review").inner_text()
    items = await asyncio.to_thread(items_of, lab, batch)
    decided = [i for i in items.values() if i["status"] != "pending"]
    assert [(i["memory_id"], i["status"]) for i in decided] == [(first[1], "approved")]
    assert decided[0]["comment"] == "a match: ORA-01017 in the log"
    assert set(items) >= set(ids)


@pytest.mark.asyncio
async def test_2_a_correction_is_saved_and_shown_beside_the_original(
    lab: RunningServer, seeded: tuple[str, list[str]]
) -> None:
    batch, _ids = seeded
    async with chromium_page() as page:
        await open_and_run(page, lab, "review.ipynb", CARD)
        card = page.locator(".resync-card-pending").first
        question = await card.locator(".resync-card-question").inner_text()
        await card.get_by_role("button", name="Correct").click()
        editor = card.locator(".resync-correct")
        await editor.locator("textarea").fill(CORRECTED)
        await editor.locator("input").fill("the job was not rerun by anyone")
        await editor.get_by_role("button", name="Save correction").click()
        corrected = page.locator(".resync-card").filter(has_text=question.split(": ", 1)[1])
        await corrected.locator(".resync-card-corrected").wait_for()
        await corrected.locator(".resync-card-question").scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / "review-correct.png"))
        text = await corrected.inner_text()
        assert "Original answer" in text and "expired" in text and "Wrong claim" in text
    items = await asyncio.to_thread(items_of, lab, batch)
    fixed = [i for i in items.values() if i.get("corrected_answer")]
    assert len(fixed) == 1 and fixed[0]["corrected_answer"] == CORRECTED
    assert fixed[0]["wrong_claim"] == "the job was not rerun by anyone"


@pytest.mark.asyncio
async def test_3_bulk_approval_after_one_confirmation(
    lab: RunningServer, seeded: tuple[str, list[str]]
) -> None:
    batch, _ids = seeded
    pending = [m for m, s in (await statuses(lab, batch)).items() if s == "pending"]
    assert len(pending) >= 2
    async with chromium_page() as page:
        await open_and_run(page, lab, "review.ipynb", CARD)
        bulk = page.locator(".resync-bulk")
        await bulk.get_by_role("button", name=f"Shown ({len(pending)})").click()
        await bulk.get_by_role("button", name="Approve…").click()
        confirm = bulk.get_by_role("button", name=f"Approve {len(pending)}")
        await confirm.wait_for()
        assert await bulk.get_by_text(f"Approve {len(pending)} shown items?").is_visible()
        await bulk.screenshot(path=str(SHOTS / "review-bulk-confirm.png"))
        assert set(pending) <= {
            m for m, s in (await statuses(lab, batch)).items() if s == "pending"
        }, "nothing is sent before the confirmation"
        await confirm.click()
        await page.locator(".resync-review").get_by_text("Bulk: ").wait_for()
        total = len(await asyncio.to_thread(items_of, lab, batch))
        await page.get_by_text(f"{total} of {total} decided").wait_for()
        await page.wait_for_function(  # the cards rebuilt from the server's answer
            "() => !document.querySelector('.resync-card-pending')"
            " && document.querySelectorAll('.resync-card').length > 0"
        )
        await page.screenshot(path=str(SHOTS / "review-bulk.png"))
    assert all(s != "pending" for s in (await statuses(lab, batch)).values())
