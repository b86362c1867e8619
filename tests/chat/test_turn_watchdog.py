"""The turn's LM limit is on silence: a steadily streaming answer is never cut."""

from __future__ import annotations

import asyncio

import pytest

from resync_ext.chat.watch import Activity


@pytest.mark.asyncio
async def test_a_task_that_keeps_making_progress_outlives_the_limit() -> None:
    activity = Activity()

    async def streaming() -> str:
        for _ in range(8):  # 0.4 s in all, four times the silence limit
            await asyncio.sleep(0.05)
            activity.touch()
        return "done"

    task = asyncio.ensure_future(streaming())
    assert await activity.wait_while_busy(task, idle_limit=0.1) is True
    assert task.result() == "done"


@pytest.mark.asyncio
async def test_a_silent_task_is_reported_after_the_limit() -> None:
    activity = Activity()
    task = asyncio.ensure_future(asyncio.sleep(5))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await activity.wait_while_busy(task, idle_limit=0.2) is False
    assert loop.time() - t0 < 2
    assert not task.done()
    task.cancel()
