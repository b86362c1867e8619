"""The panels in a real JupyterLab, driven by Debian's chromium through Playwright.

JupyterLab serves copies of ``notebooks/chat.ipynb`` and ``notebooks/review.ipynb`` on loopback
(with the demo simulator and the loopback LM); the kernel finds the server on its own, as a
user's kernel does. Screenshots go to ``test-output/browser/``. ``playwright install`` does not
work here: ``scripts/install-browser.sh`` (run by ``make test``) installs chromium with apt.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.browser.labconfig import quiet_lab
from tests.kernel.widgets.server import (
    LM_JUDGE,
    MODEL_QUESTION,
    REPO,
    RunningServer,
    resync_server,
    seed_batch,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-output" / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAB_CONFIG = {
    "LabApp.expose_app_in_browser": True,  # window.jupyterapp: run cells by command
    "LabApp.news_url": None,
    "LabApp.check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "LabApp.extension_manager": "readonly",
}
QUESTION = MODEL_QUESTION  # no known issue applies: the model answers, in Markdown
REVIEWED = "What is wrong with the DAILY_PAY stream?"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """JupyterLab with Resync over a copy of the two notebooks (outputs never touch the repo)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "work"
    (root / "notebooks").mkdir(parents=True)
    for name in ("chat.ipynb", "review.ipynb"):
        shutil.copy(REPO / "notebooks" / name, root / "notebooks" / name)
    quiet_lab(base)
    with resync_server(base, app="lab", root_dir=root, extra={**LAB_CONFIG, **LM_JUDGE}) as running:
        # Memories stay new until seed_batch files them all into one batch (review test).
        running.lm.judge = "down"
        yield running


@asynccontextmanager
async def chromium_page() -> AsyncIterator[Any]:
    """A page of Debian's chromium, headless (async API: the test's loop is pytest's own)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser.sh (make test does)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run scripts/install-browser.sh (make test does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            page = await context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            await browser.close()


async def open_and_run(page: Any, lab: RunningServer, notebook: str, ready: str) -> None:
    """Open a notebook, wait for its kernel, run all cells until ``ready`` shows."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    await page.goto(f"{lab.url}lab/tree/notebooks/{notebook}?token={lab.token}")
    # The restored workspace may open another notebook first: wait until this one is current.
    await page.wait_for_function(
        "(path) => { const w = window.jupyterapp?.shell.currentWidget;"
        " return w?.context?.path === path && w.context.isReady && w.sessionContext?.isReady"
        " && w.sessionContext.session?.kernel?.status === 'idle'; }",
        arg=f"notebooks/{notebook}",
        timeout=90_000,
    )
    for attempt, wait_s in ((1, 20), (2, 60)):  # right after a kernel starts, run-all can be lost
        await page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            await page.wait_for_selector(ready, state="visible", timeout=wait_s * 1000)
            return
        except PlaywrightTimeout:
            await page.screenshot(path=str(SHOTS / f"{notebook}-attempt{attempt}.png"))
            if attempt == 2:
                raise


@pytest.mark.asyncio
async def test_chat_notebook_streams_an_answer_into_the_page(lab: RunningServer) -> None:
    async with chromium_page() as page:
        await open_and_run(page, lab, "chat.ipynb", ".resync-chat .widget-text input")
        box = page.locator(".resync-chat .widget-text input")
        await box.fill(QUESTION)
        await box.press("Enter")
        turn = page.locator(".resync-turn").filter(has_text=QUESTION)
        answer = turn.locator(".resync-answer")
        await answer.filter(has_text="then watch the job").wait_for()
        await turn.filter(has_text="remembered as").wait_for()
        await page.screenshot(path=str(SHOTS / "chat.png"))
        assert await answer.locator("strong", has_text="FACT_SALES_LOAD").count() == 1
        assert await answer.locator("code", has_text="v$session").count() == 1
        # The evidence is one click away, behind one row.
        assert "✓ lookup_known_issue(" not in await turn.inner_text()
        await turn.locator(".resync-evidence").get_by_text("Evidence:").click()
        await turn.get_by_text("✓ lookup_known_issue(").first.wait_for()
        text = await turn.inner_text()
        assert "✓ lookup_known_issue(" in text, text
        assert await box.input_value() == "", "the box is cleared for the next question"


@pytest.mark.asyncio
async def test_review_notebook_approves_an_item(lab: RunningServer) -> None:
    turns = [("tws-troubleshooter", REVIEWED), ("tws-analyzer", "Which critical jobs are late?")]
    batch, (memory_id, _other) = await seed_batch(lab, turns)
    async with chromium_page() as page:
        await open_and_run(page, lab, "review.ipynb", ".resync-review .resync-card")
        card = page.locator(".resync-card").filter(has_text=REVIEWED)
        await card.get_by_role("button", name="Comment").click()  # the box opens on demand
        await card.locator(".resync-comment input").fill("Matches the job log.")
        await card.locator(".resync-comment input").press("Enter")
        await card.get_by_role("button", name="Approve").click()
        decided = page.locator(".resync-card").filter(has_text=REVIEWED)
        await decided.filter(has_text="approved by").wait_for()
        await decided.screenshot(path=str(SHOTS / "review-card.png"))
        await page.locator(".resync-review .widget-dropdown").first.scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / "review.png"))
        assert "1 of" in await page.locator(".resync-review").inner_text()
    with lab.client() as client:
        item = next(i for i in client.batch(batch)["items"] if i["memory_id"] == memory_id)
    assert item["status"] == "approved" and item["comment"] == "Matches the job log."
