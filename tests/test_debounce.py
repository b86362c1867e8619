"""The debouncer behind fresh-memory audits and demo rebuilds: one flush per burst, none lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from resync_ext.debounce import Debouncer

pytestmark = pytest.mark.asyncio


class Flushes:
    """Record each flush's keys; optionally block inside one or fail it."""

    def __init__(self) -> None:
        self.calls: list[set[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()
        self.fail_next = False

    async def __call__(self, keys: set[str]) -> None:
        self.calls.append(keys)
        self.entered.set()
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the judge is down")


async def settle(debouncer: Debouncer[str]) -> None:
    async with asyncio.timeout(5):
        while debouncer.pending or (debouncer._task is not None and not debouncer._task.done()):
            await asyncio.sleep(0.01)


async def test_a_burst_is_flushed_once_with_every_key() -> None:
    flushes = Flushes()
    debouncer = Debouncer(0.05, flushes, name="test-burst")
    for key in ("a", "b", "a", "c"):
        debouncer.add(key)
    assert flushes.calls == []  # nothing before the delay
    await settle(debouncer)
    assert flushes.calls == [{"a", "b", "c"}]


async def test_a_key_added_during_a_flush_is_handled_right_after_it() -> None:
    flushes = Flushes()
    flushes.release.clear()
    debouncer = Debouncer(0.01, flushes, name="test-late")
    debouncer.add("first")
    await asyncio.wait_for(flushes.entered.wait(), 5)
    debouncer.add("late")  # the flush of "first" is still running
    flushes.release.set()
    await settle(debouncer)
    assert flushes.calls == [{"first"}, {"late"}]


async def test_a_failed_flush_is_logged_and_the_next_burst_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flushes = Flushes()
    flushes.fail_next = True
    debouncer = Debouncer(0.01, flushes, name="test-fail", log=logging.getLogger("test.debounce"))
    with caplog.at_level(logging.ERROR, logger="test.debounce"):
        debouncer.add("x")
        await settle(debouncer)
    assert "test-fail failed" in caplog.text
    debouncer.add("y")
    await settle(debouncer)
    assert flushes.calls == [{"x"}, {"y"}]


async def test_cancel_drops_what_waits() -> None:
    flushes = Flushes()
    debouncer = Debouncer(0.05, flushes, name="test-cancel")
    debouncer.add("x")
    debouncer.cancel()
    assert debouncer.pending == frozenset()
    await asyncio.sleep(0.1)
    assert flushes.calls == []
