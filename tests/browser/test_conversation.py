"""The chat panel's follow-up flow and stage indicator in a real JupyterLab (Debian's chromium
through Playwright, as tests/browser/test_jupyterlab.py): a failure, then "What does it block?"
and "And its log?" answered about the same job, the conversation line, New conversation; the
turn's status line showing each stage while the plan is read slowly (the simulator's latency).
Screenshots go to ``test-output/browser/``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.browser.labconfig import quiet_lab
from tests.browser.test_jupyterlab import LAB_CONFIG, SHOTS, chromium_page, open_and_run
from tests.kernel.widgets.server import REPO, RunningServer, resync_server

#: A failure a known issue explains: its facts and steps are written by code.
QUESTION = "Why did PAYROLL_EXTRACT fail last night?"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Every text a turn's status line took, recorded in the page as it changes.
WATCH_STATUS = r"""() => {
  window.resyncStatuses = [];
  const status = (line) => /^[A-Z][a-z ]+…$/.test(line) || line.includes('remembered as');
  new MutationObserver(() => {
    for (const turn of document.querySelectorAll('.resync-turn')) {
      for (const line of turn.innerText.split('\n').filter(status)) {
        if (window.resyncStatuses.at(-1) !== line) window.resyncStatuses.push(line);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """JupyterLab with Resync over a copy of the chat notebook."""
    base = tmp_path_factory.mktemp("lab-conversation")
    root = base / "work"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "chat.ipynb", root / "notebooks" / "chat.ipynb")
    quiet_lab(base)
    with resync_server(base, app="lab", root_dir=root, extra=LAB_CONFIG) as running:
        running.lm.judge = "down"  # no audit traffic in this test
        yield running


async def _ask(page: object, text: str) -> object:
    box = page.locator(".resync-chat .widget-text input")  # type: ignore[attr-defined]
    await box.fill(text)
    await box.press("Enter")
    turn = page.locator(".resync-turn").filter(has_text=text)  # type: ignore[attr-defined]
    await turn.filter(has_text="remembered as").wait_for()
    return turn


@pytest.mark.asyncio
async def test_follow_ups_stay_on_the_job_and_each_stage_shows(lab: RunningServer) -> None:
    async with chromium_page() as page:
        await open_and_run(page, lab, "chat.ipynb", ".resync-chat .widget-text input")
        await page.locator(".resync-chat select").first.select_option(label="TWS Troubleshooter")
        await page.evaluate(WATCH_STATUS)
        lab.sim.set_faults(latency_ms=400)  # the plan reads slowly: the stages can be seen
        try:
            box = page.locator(".resync-chat .widget-text input")
            await box.fill(QUESTION)
            await box.press("Enter")
            first = page.locator(".resync-turn").filter(has_text=QUESTION)
            await first.filter(has_text="Reading the plan…").wait_for()
            await page.screenshot(path=str(SHOTS / "conversation-stage.png"))
            await first.filter(has_text="remembered as").wait_for()
        finally:
            lab.sim.clear_faults()
        statuses = await page.evaluate("() => window.resyncStatuses")
        order = [
            next((i for i, s in enumerate(statuses) if text in s), -1)
            # A known issue explains this failure: no "Writing…" (the model is not asked).
            for text in ("Reading the plan…", "Found the facts…", "Remembering…", "about PAYROLL")
        ]
        assert not any("Writing" in s for s in statuses), statuses
        assert -1 not in order and order == sorted(order), statuses

        blocks = await _ask(page, "What does it block?")
        text = await blocks.inner_text()  # type: ignore[attr-defined]
        assert "3 jobs wait for PAYROLL_EXTRACT" in text and "PAYROLL_CALC" in text, text
        assert "about PAYROLL_EXTRACT" in text
        log = await _ask(page, "And its log?")
        text = await log.inner_text()  # type: ignore[attr-defined]
        assert "ORA-01017" in text and "about PAYROLL_EXTRACT" in text, text
        line = page.locator(".resync-chat").get_by_text("3 turns, about PAYROLL_EXTRACT")
        await line.wait_for()
        await log.scroll_into_view_if_needed()  # type: ignore[attr-defined]
        await page.screenshot(path=str(SHOTS / "conversation.png"))

        await page.get_by_role("button", name="New conversation").click()
        await page.locator(".resync-chat").get_by_text("no question yet").wait_for()
        assert await page.locator(".resync-turn").count() == 0
