"""Small helpers shared by tests that drive an in-process server's services."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def wait_memory(services: Any, timeout: float = 90.0) -> Any:
    """The in-process server's memory store, once open (it opens in the background)."""
    async with asyncio.timeout(timeout):
        while services.memory is None:
            assert services.memory_error is None, services.memory_error
            await asyncio.sleep(0.1)
    return services.memory


async def flag_turns(
    services: Any,
    questions: Iterable[str],
    *,
    answer: str,
    evidence: list[dict[str, Any]],
    audit: dict[str, Any],
) -> list[str]:
    """Store turns of the troubleshooter and flag them into one review batch, as an audit pass
    does; return their memory ids."""
    from resync_ext.audit.review_queue import ReviewItem

    store = await wait_memory(services, timeout=60)
    items = []
    for question in questions:
        m = await store.add_turn(
            agent_id="tws-troubleshooter", question=question, answer=answer, evidence=evidence
        )
        await store.set_state(m.id, "flagged", expect={"new"}, audit=audit)
        items.append(
            ReviewItem(
                memory_id=m.id,
                question=question,
                answer=answer,
                agent_id="tws-troubleshooter",
                evidence=evidence,
                **audit,
            )
        )
    await services.queue.add_items(items)
    return [i.memory_id for i in items]
