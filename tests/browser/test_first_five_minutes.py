"""What a new user sees in the first five minutes, in a real JupyterLab driven by chromium.

JupyterLab is configured as ``make run`` configures it (jupyter-config/labconfig/page_config.json:
no announcements plugin, so no "official Jupyter news?" toast). The chat notebook opens on the
``auto`` agent with suggested questions built from the demo night; a plan-wide question (clicked
from the suggestions) is answered by the plan analyzer and a job question (typed) by the
troubleshooter, each answer in words: no ``None``, pipes, rule ids or ISO timestamps. The LM is
the scripted loopback LM. Screenshots of each answer (1280x1000) go to ``test-output/browser/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.labconfig import quiet_lab
from tests.browser.test_jupyterlab import LAB_CONFIG, SHOTS, chromium_page, open_and_run
from tests.evals.test_layout import machine_spelling
from tests.kernel.widgets.server import REPO, RunningServer, resync_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
PLAN_QUESTION = "What failed tonight?"
JOB_QUESTION = "Why did PAYROLL_EXTRACT fail last night?"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """JupyterLab with Resync over a copy of the chat notebook, with make run's lab config."""
    base = tmp_path_factory.mktemp("first-five")
    root = base / "work"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "chat.ipynb", root / "notebooks" / "chat.ipynb")
    quiet_lab(base)
    with resync_server(base, app="lab", root_dir=root, extra=LAB_CONFIG) as running:
        running.lm.judge = "down"  # the audit is not what this test watches
        yield running


async def _answer(page: Any, question: str, agent: str, shot: str) -> str:
    """Wait for the turn of ``question`` to end, answered by ``agent``; screenshot it."""
    turn = page.locator(".resync-turn").filter(has_text=question)
    await turn.locator(".resync-agent", has_text=agent).wait_for()
    await turn.filter(has_text="remembered").wait_for()
    await turn.scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / shot))
    text = str(await turn.locator(".resync-answer").inner_text())
    (SHOTS / shot).with_suffix(".txt").write_text(text)
    return text


@pytest.mark.asyncio
async def test_a_new_user_asks_through_auto_and_reads_answers_in_words(lab: RunningServer) -> None:
    async with chromium_page() as page:
        await open_and_run(page, lab, "chat.ipynb", ".resync-chat .widget-text input")
        config = await page.evaluate(
            "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        )
        assert ANNOUNCEMENTS in config["disabledExtensions"]

        # An empty chat offers questions about tonight's plan.
        offered = page.locator(".resync-suggestions .resync-suggestion")
        await offered.first.wait_for()
        questions = [str(q).strip() for q in await offered.all_inner_texts()]
        assert 3 <= len(questions) <= 4 and questions[0] == PLAN_QUESTION, questions
        assert "Why did PAYROLL_EXTRACT fail?" in questions
        await page.screenshot(path=str(SHOTS / "first-five-empty.png"))

        await offered.filter(has_text=PLAN_QUESTION).click()
        plan = await _answer(page, PLAN_QUESTION, "tws-analyzer", "first-five-plan.png")
        assert await page.locator(".resync-suggestions").is_hidden()
        assert plan.startswith("tws-analyzer:") and "Failed (4):" in plan
        assert 'DAILY_PAY.PAYROLL_EXTRACT (abended, return code 12): "ORA-01017' in plan

        box = page.locator(".resync-chat .widget-text input")
        await box.fill(JOB_QUESTION)
        await box.press("Enter")
        job = await _answer(page, JOB_QUESTION, "tws-troubleshooter", "first-five-job.png")
        lines = job.splitlines()
        verdict = next(x for x in lines if x.startswith("PAYROLL_EXTRACT ("))
        # One line: what happened to which job, in the engine's zone and how long ago.
        assert "abended with return code 12 at 23:01 CET on 23 Nov, 9 h ago" in verdict
        assert job.count("ORA-01017: invalid username/password") == 1
        assert "Blocks 3 jobs: PAYROLL_CALC, PAYROLL_TAX, PAYROLL_POST." in job, job

        for text in (plan, job):
            assert machine_spelling(text) == []
        # The news toast never showed, while the notebook ran and two answers streamed.
        toasts = page.locator(".Toastify__toast")
        assert await toasts.filter(has_text="Jupyter news").count() == 0
        assert await toasts.filter(has_text="update").count() == 0
