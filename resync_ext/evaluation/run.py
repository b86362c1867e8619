"""Asking the cases' questions through the chat's turn service, on simulated nights.

By default each case runs alone on a fresh simulator; a case with ``history`` asks its earlier
questions first, with the real embedded memory store on (what they leave is deleted afterwards).
In sequence mode all the cases of one scenario are asked one after another on one simulator, all
cases on one memory store, as users of one server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from resync_ext.evaluation.cases import DEFAULT_AGENT, Case, CaseResult, load_case
from resync_ext.evaluation.grade import evidence_texts, grade, grounding_check, is_degenerate
from resync_ext.evaluation.lm import configured_lm, warm_up
from resync_ext.evaluation.night import Asker, Night, Turn
from resync_ext.evaluation.report import print_result

if TYPE_CHECKING:
    from resync_ext.memory.store import MemoryStore


async def run_case(night: Asker, case: Case, agent_override: str | None) -> CaseResult:
    """Ask the case's earlier questions, then its question, in one conversation; grade the last."""
    agent_id = agent_override or case.agent or DEFAULT_AGENT
    conversation = f"eval-{case.name}"
    seen: list[str] = []
    seconds: list[float] = []
    turn: Turn | None = None
    try:
        for question in [*case.history, case.question]:
            if turn is not None:
                seen += evidence_texts(turn.evidence)
            turn = await night.ask(agent_id, question, conversation)
            seconds.append(turn.seconds)
    except Exception as e:  # a crash is a failed case, reported with its cause
        return CaseResult(
            case.name,
            agent_id,
            False,
            sum(seconds),
            [f"error: {type(e).__name__}: {e}"],
            tags=case.tags,
            question=case.question,
            history=case.history,
            turn_seconds=seconds,
        )
    assert turn is not None
    evidence = [*seen, *evidence_texts(turn.evidence)]
    checked, ungrounded = grounding_check(turn.answer, evidence, case.question)
    problems = grade(turn.answer, turn.tools, case.expect)
    problems += [f"ungrounded {c}" for c in ungrounded]
    problems += [f"error frame {e}" for e in turn.errors]
    return CaseResult(
        case.name,
        agent_id,
        not problems,
        turn.seconds,
        problems,
        turn.tools,
        turn.answer,
        tags=case.tags,
        question=case.question,
        history=case.history,
        ungrounded=ungrounded,
        claims_checked=checked,
        degenerate=is_degenerate(turn.answer),
        turn_seconds=seconds,
        evidence=turn.evidence,
        grounding=turn.grounding,
        context=turn.context,
    )


@contextlib.asynccontextmanager
async def memory_store(needed: bool) -> AsyncIterator[MemoryStore | None]:
    """The project's embedded memory store in a temporary directory (None when not needed)."""
    if not needed:
        yield None
        return
    from resync_ext.memory.factory import create_memory_store

    with tempfile.TemporaryDirectory(prefix="resync-eval-memory-") as tmp:
        store = create_memory_store(data_dir=Path(tmp), qdrant_url=None, qdrant_api_key=None)
        await store.open()
        try:
            yield store
        finally:
            await store.close()


async def run_all(
    files: list[Path],
    *,
    agent: str | None,
    lm_choice: str | None,
    config: Path,
    data_dir: Path,
    sequence: bool = False,
) -> list[CaseResult]:
    """Run every case in turn (the local model serves one request at a time anyway)."""
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.llm import prepare_environment

    prepare_environment(data_dir)
    lm = await asyncio.to_thread(configured_lm, lm_choice, data_dir)
    await asyncio.to_thread(warm_up, lm)
    registry = AgentRegistry(config, lm_factory=lambda _model: lm)
    await asyncio.to_thread(registry.load)
    cases: list[Case] = []
    results: list[CaseResult] = []
    for f in files:
        try:
            cases.append(await asyncio.to_thread(load_case, f))
        except (OSError, ValueError, yaml.YAMLError) as e:
            results.append(CaseResult(f.stem, agent or "?", False, 0.0, [f"bad case: {e}"]))
            print_result(results[-1])
    async with memory_store(sequence or any(c.history for c in cases)) as store:
        if sequence:
            groups: dict[str, list[Case]] = {}
            for c in cases:
                groups.setdefault(c.scenario_key, []).append(c)
            for group in groups.values():
                await _run_night(Night(registry, store), group, agent, results)
            return results
        for c in cases:
            await _run_night(Night(registry, store if c.history else None), [c], agent, results)
            if store is not None and c.history:
                await _forget_all(store)
    return results


async def _run_night(
    night: Night, cases: list[Case], agent: str | None, results: list[CaseResult]
) -> None:
    """Serve the cases' scenario and ask them in order; a scenario that will not load fails them."""
    try:
        async with night.serve(cases[0].scenario):
            for c in cases:
                results.append(await run_case(night, c, agent))
                print_result(results[-1])
    except Exception as e:
        if night.service is not None:
            raise  # the simulator ran: this is not the scenario's fault
        for c in cases:
            results.append(
                CaseResult(
                    c.name,
                    agent or c.agent or DEFAULT_AGENT,
                    False,
                    0.0,
                    [f"error: scenario: {type(e).__name__}: {e}"],
                    tags=c.tags,
                    question=c.question,
                    history=c.history,
                )
            )
            print_result(results[-1])


async def _forget_all(store: MemoryStore) -> None:
    """Delete every memory, so that the next case starts with none."""
    settle = getattr(store, "settle", None)  # background embeddings first, or they find no point
    if settle is not None:
        await settle()
    while page := await store.list(limit=200):
        for m in page:
            await store.delete(m.id)
