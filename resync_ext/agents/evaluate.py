"""``resync-eval``: ask agents the questions of evaluation cases on simulated plans, grade them.

    resync-eval CASE_FILE_OR_DIR... [--agent ID] [--json OUT] [--lm local|echo|PROVIDER_ID]
                [--sequence]

Each case (YAML or JSON, SPEC.md §8) names a scenario (a path relative to the case file, or an
inline mapping), a question, optional earlier questions of the same conversation (``history``),
an optional agent, its ``tags`` and what the answer must contain. Questions go through the chat's
own turn (``resync_ext.chat.turns.TurnService``: past-turn retrieval, the agent, the memory) with
the simulator in-process on a free loopback port and the agent built from config/runtime.json,
asked with the configured LM (``RESYNC_LM_MODEL`` etc., default the embedded model). ``--lm echo``
is a scripted LM that answers with the evidence it was given: it measures the pre-analysis alone.

By default each case runs alone on a fresh simulator; a case with ``history`` asks its earlier
questions first, with the real embedded memory store on (what they leave is deleted afterwards).
``--sequence`` asks all the cases of one scenario one after another on one simulator, all cases on
one memory store (the real embedded store in a temporary directory), as users of one server
would: what earlier turns leave behind can then leak into later answers, and grading shows it.

Every answer is graded for ``mentions``/``any_of``/``must_not``/``tools``, for grounding (each
object name and error code in it appears in the evidence of this turn or of the conversation's
earlier turns, or in the question) and for degeneracy (a phrase repeated over and over). Prints
one line per case, the pass rate per tag, the median and p90 seconds per turn, and last
``N passed, M failed``; exits 0 only when every case passed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from resync_ext.agents import grounding

if TYPE_CHECKING:
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.chat.turns import TurnService
    from resync_ext.memory.store import MemoryStore
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import RunningSimulator

DEFAULT_AGENT = "tws-troubleshooter"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
TAGS = frozenset(
    {
        "root-cause",
        "multi-hop",
        "rerun",
        "red-herring",
        "long-running",
        "deadline",
        "control-healthy",
        "control-unknown",
        "summary",
        "natural-name",
    }
)
#: The labels of the explain signatures' inputs that are not evidence (for the echo LM).
_NOT_EVIDENCE = re.compile(r"\n(?:Question|Past cases|Past turns|History|Context):")


@dataclass
class Case:
    """One evaluation case as read from its file."""

    path: Path
    scenario: Path | dict[str, Any]
    question: str
    agent: str | None
    tags: list[str]
    history: list[str]
    expect: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def scenario_key(self) -> str:
        """What identifies the case's night: its file, or its inline mapping."""
        if isinstance(self.scenario, Path):
            return str(self.scenario)
        return json.dumps(self.scenario, sort_keys=True, default=str)


@dataclass
class CaseResult:
    """The outcome of one case (its last question; earlier ones are the conversation)."""

    case: str
    agent: str
    passed: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    answer: str = ""
    tags: list[str] = field(default_factory=list)
    question: str = ""
    history: list[str] = field(default_factory=list)
    ungrounded: list[str] = field(default_factory=list)
    claims_checked: int = 0
    degenerate: bool = False
    turn_seconds: list[float] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    grounding: dict[str, int] | None = None
    context: list[str] = field(default_factory=list)


@dataclass
class Turn:
    """One question asked and what came back."""

    answer: str
    evidence: list[dict[str, Any]]
    tools: list[str]
    seconds: float
    errors: list[str]
    memory_id: str | None
    grounding: dict[str, int] | None
    context: list[str]


def collect(paths: list[str]) -> list[Path]:
    """Return the case files named or found under the directories (not under scenarios/)."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files += sorted(
                f
                for f in p.rglob("*")
                if f.suffix in {".yaml", ".yml", ".json"}
                and "scenarios" not in f.relative_to(p).parts
            )
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit(f"resync-eval: no such case file or directory: {raw}")
    return files


def load_case(path: Path) -> Case:
    """Read and check one case file; a malformed one raises ValueError naming the problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "scenario" not in data or "question" not in data:
        raise ValueError("a case needs a scenario and a question")
    scenario = data["scenario"]
    if isinstance(scenario, str):
        scenario = (path.parent / scenario).resolve()
    elif not isinstance(scenario, dict):
        raise ValueError("scenario must be a path or a mapping")
    tags = list(data.get("tags") or [])
    unknown = sorted(set(tags) - TAGS)
    if unknown:
        raise ValueError(f"unknown tags {unknown} (known: {', '.join(sorted(TAGS))})")
    history = data.get("history") or []
    if not isinstance(history, list) or not all(isinstance(q, str) for q in history):
        raise ValueError("history must be a list of questions")
    return Case(
        path,
        scenario,
        str(data["question"]),
        data.get("agent"),
        tags,
        history,
        dict(data.get("expect") or {}),
    )


# -- grading ---------------------------------------------------------------------------------


def evidence_texts(evidence: Iterable[dict[str, Any]]) -> list[str]:
    """Render recorded tool calls (tool, args, summary) as the texts an answer may draw on."""
    return [
        f"{e.get('tool')}({json.dumps(e.get('args') or {}, default=str)}): {e.get('summary', '')}"
        for e in evidence
    ]


def grounding_check(answer: str, evidence: Sequence[str], question: str) -> tuple[int, list[str]]:
    """Return (claims checked, unsupported claims as ``kind 'text'``) for an answer."""
    report = grounding.check(answer, evidence, question)
    seen: dict[str, None] = {}
    for claim in report.unsupported:
        seen.setdefault(f"{claim.kind} {claim.text!r}", None)
    return len(report.claims), list(seen)


def is_degenerate(text: str) -> bool:
    """True when a phrase comes back over and over (a looping model), as the guard judges it."""
    return grounding.degenerate(text)


def grade(
    answer: str,
    tools: list[str],
    expect: dict[str, Any],
    *,
    evidence: Sequence[str] | None = None,
    question: str = "",
) -> list[str]:
    """Return what is wrong with the answer (empty when the case passes); case-insensitive.

    ``evidence`` (the texts the answer may draw on) turns the grounding check on.
    """
    text = answer.lower()
    problems = [f"missing {m!r}" for m in expect.get("mentions", []) if m.lower() not in text]
    for group in expect.get("any_of", []):
        if not any(g.lower() in text for g in group):
            problems.append(f"none of {group}")
    problems += [f"says {m!r}" for m in expect.get("must_not", []) if m.lower() in text]
    problems += [f"tool {t} not called" for t in expect.get("tools", []) if t not in tools]
    if evidence is not None:
        problems += [f"ungrounded {c}" for c in grounding_check(answer, evidence, question)[1]]
    if is_degenerate(answer):
        problems.append("degenerate: a phrase repeated over and over")
    return problems


# -- the LM -------------------------------------------------------------------------------------


def echo_lm() -> Any:
    """Return a scripted LM whose answer is the evidence of its prompt (a pre-analysis baseline)."""
    import dspy
    from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

    class EchoEngine:
        def complete(self, request: Any) -> Any:
            text = request.messages[-1].text or ""
            # Only the evidence: past turns offered as context are not what this turn found.
            evidence = _NOT_EVIDENCE.split(text, maxsplit=1)[0]
            evidence = evidence.split("Question:")[0].strip().removeprefix("Evidence:").strip()
            return Response(
                id=None,
                model="echo",
                message=Message.assistant([TextPart(evidence or "No evidence.")]),
                finish_reason="stop",
                usage=Usage(input_tokens=0, output_tokens=0),
            )

        def stream(self, request: Any) -> Any:
            return response_to_events(self.complete(request))

        def close(self) -> None:
            """Nothing to release."""

    class AsyncEchoEngine:
        def __init__(self) -> None:
            self.sync = EchoEngine()

        async def complete(self, request: Any) -> Any:
            return self.sync.complete(request)

        async def stream(self, request: Any) -> Any:
            for event in self.sync.stream(request):
                yield event

        async def aclose(self) -> None:
            """Nothing to release."""

    return dspy.LM(
        "echo/evidence", engine=EchoEngine(), async_engine=AsyncEchoEngine(), cache=False
    )


def configured_lm(choice: str | None, data_dir: Path) -> Any:
    """Build the LM the server would use (from RESYNC_* variables), or the echo baseline."""
    from resync_ext.llm import build_lm

    model = choice or os.environ.get("RESYNC_LM_MODEL") or "local"
    if model == "echo":
        return echo_lm()
    return build_lm(
        model=model,
        api_base=os.environ.get("RESYNC_LM_API_BASE") or None,
        api_key=os.environ.get("RESYNC_LM_API_KEY") or None,
        local_model_path=os.environ.get("RESYNC_LOCAL_MODEL_PATH") or None,
        data_dir=data_dir,
        cache=False,
    )


# -- asking -------------------------------------------------------------------------------------


def _as_dict(frame: Any) -> dict[str, Any]:
    if isinstance(frame, dict):
        return frame
    dumped: dict[str, Any] = frame.model_dump()
    return dumped


class Asker(Protocol):
    """What asks a case's questions: a served night, or a fake in tests."""

    async def ask(self, agent_id: str, question: str, conversation: str) -> Turn:
        """Ask one question in ``conversation``; return what came back."""
        ...


class Night:
    """One scenario served by the simulator, asked through the chat's turn service."""

    def __init__(self, registry: AgentRegistry, memory: MemoryStore | None) -> None:
        self.registry = registry
        self.memory = memory
        self.turns = 0
        self.sim: RunningSimulator | None = None
        self.client: TWSClient | None = None
        self.service: TurnService | None = None

    @contextlib.asynccontextmanager
    async def serve(self, scenario: Path | dict[str, Any]) -> AsyncIterator[Night]:
        """Start the simulator on ``scenario`` and a turn service over it."""
        from resync_ext.chat.turns import TurnService
        from resync_ext.tws.client import TWSClient
        from resync_ext.tws.simulator.server import start_simulator
        from resync_ext.tws.tools import build_tools

        self.sim = sim = await start_simulator(scenario)
        try:
            self.client = TWSClient(sim.url, user=sim.user, password=sim.password)
            tools = build_tools(self.client)
            self.service = TurnService(
                registry=self.registry, tools=lambda: tools, tws=self.client, memory=self.memory
            )
            yield self
        finally:
            if self.client is not None:
                await self.client.aclose()
            await sim.stop()

    async def ask(self, agent_id: str, question: str, conversation: str) -> Turn:
        """Ask one question as a chat turn; return the answer, evidence and tools called."""
        if self.service is None:
            raise RuntimeError("ask() outside serve()")
        self.turns += 1
        frames: list[dict[str, Any]] = []

        async def send(frame: Any) -> None:
            frames.append(_as_dict(frame))

        kwargs: dict[str, Any] = {}
        if "conversation" in inspect.signature(self.service.run).parameters:
            kwargs["conversation"] = conversation
        t0 = time.perf_counter()
        final = _as_dict(
            await self.service.run(agent_id, f"eval-{self.turns}", question, send, **kwargs)
        )
        seconds = time.perf_counter() - t0
        return Turn(
            answer=str(final.get("content") or ""),
            evidence=list(final.get("evidence") or []),
            tools=[f["tool"] for f in frames if f.get("type") == "tool_call"],
            seconds=seconds,
            errors=[f"{f.get('code')}: {f.get('message')}" for f in frames if f["type"] == "error"],
            memory_id=final.get("memory_id"),
            grounding=final.get("grounding"),
            context=list(final.get("context") or []),
        )


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


def _print_result(r: CaseResult) -> None:
    mark = "PASS" if r.passed else "FAIL"
    print(
        f"{mark} {r.case} [{r.agent}] {r.seconds:.1f}s"
        + ("" if r.passed else f": {'; '.join(r.problems)}"),
        flush=True,
    )


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
    registry = AgentRegistry(config, lm_factory=lambda _model: lm)
    await asyncio.to_thread(registry.load)
    cases: list[Case] = []
    results: list[CaseResult] = []
    for f in files:
        try:
            cases.append(await asyncio.to_thread(load_case, f))
        except (OSError, ValueError, yaml.YAMLError) as e:
            results.append(CaseResult(f.stem, agent or "?", False, 0.0, [f"bad case: {e}"]))
            _print_result(results[-1])
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
                _print_result(results[-1])
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
            _print_result(results[-1])


async def _forget_all(store: MemoryStore) -> None:
    """Delete every memory, so that the next case starts with none."""
    settle = getattr(store, "settle", None)  # background embeddings first, or they find no point
    if settle is not None:
        await settle()
    while page := await store.list(limit=200):
        for m in page:
            await store.delete(m.id)


# -- reporting ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest-rank; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n*q), at least 1
    return ordered[int(rank) - 1]


def tag_table(results: Sequence[CaseResult]) -> dict[str, dict[str, int]]:
    """Passed and total cases per tag (``untagged`` for cases without one)."""
    table: dict[str, dict[str, int]] = {}
    for r in results:
        for tag in r.tags or ["untagged"]:
            row = table.setdefault(tag, {"passed": 0, "total": 0})
            row["total"] += 1
            row["passed"] += r.passed
    return dict(sorted(table.items()))


def summary_lines(results: Sequence[CaseResult]) -> list[str]:
    """The per-tag pass rates, the grounding and degeneracy counts and the turn times."""
    lines = ["pass rate per tag:"]
    for tag, row in tag_table(results).items():
        rate = 100 * row["passed"] / row["total"]
        lines.append(f"  {tag:<16} {row['passed']:>3}/{row['total']:<3} {rate:5.1f}%")
    ungrounded = sum(len(r.ungrounded) for r in results)
    checked = sum(r.claims_checked for r in results)
    lines.append(
        f"grounding: {ungrounded} ungrounded of {checked} claims checked, in "
        f"{sum(bool(r.ungrounded) for r in results)} answers; "
        f"degenerate answers: {sum(r.degenerate for r in results)}"
    )
    turns = [s for r in results for s in r.turn_seconds]
    lines.append(
        f"seconds per turn: median {statistics.median(turns) if turns else 0.0:.2f}, "
        f"p90 {percentile(turns, 0.9):.2f} ({len(turns)} turns)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``resync-eval``."""
    parser = argparse.ArgumentParser(prog="resync-eval", description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="+", help="case files or directories")
    parser.add_argument("--agent", help="ask this agent instead of each case's own")
    parser.add_argument("--json", dest="json_out", help="write the results to this JSON file")
    parser.add_argument(
        "--lm",
        help="'local', 'echo' (evidence baseline) or a provider id; "
        "default RESYNC_LM_MODEL or local",
    )
    parser.add_argument(
        "--sequence",
        action="store_true",
        help="ask the cases of each scenario one after another on one simulator, all on one "
        "memory store, as the users of one server would",
    )
    parser.add_argument("--config", default=str(PROJECT_ROOT / "config" / "runtime.json"))
    parser.add_argument(
        "--data-dir", default=os.environ.get("RESYNC_DATA_DIR") or "~/.local/share/resync"
    )
    args = parser.parse_args(argv)
    files = collect(args.cases)
    if not files:
        print("resync-eval: no case files found", file=sys.stderr)
        return 2
    results = asyncio.run(
        run_all(
            files,
            agent=args.agent,
            lm_choice=args.lm,
            config=Path(args.config),
            data_dir=Path(args.data_dir).expanduser(),
            sequence=args.sequence,
        )
    )
    passed = sum(r.passed for r in results)
    for line in summary_lines(results):
        print(line)
    if args.json_out:
        turns = [s for r in results for s in r.turn_seconds]
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "passed": passed,
                    "failed": len(results) - passed,
                    "mode": "sequence" if args.sequence else "isolated",
                    "seconds": round(sum(sum(r.turn_seconds) for r in results), 1),
                    "turn_seconds": {
                        "median": statistics.median(turns) if turns else 0.0,
                        "p90": percentile(turns, 0.9),
                        "turns": len(turns),
                    },
                    "by_tag": tag_table(results),
                    "ungrounded_claims": sum(len(r.ungrounded) for r in results),
                    "degenerate_answers": sum(r.degenerate for r in results),
                    "cases": [asdict(r) for r in results],
                },
                indent=2,
                default=str,
            )
        )
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
