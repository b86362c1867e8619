"""``resync-eval``: ask agents the questions of evaluation cases on simulated plans, grade them.

    resync-eval CASE_FILE_OR_DIR... [--agent ID] [--json OUT] [--lm local|echo|PROVIDER_ID]

Each case (YAML or JSON, SPEC.md §8) names a scenario (a path relative to the case file, or an
inline mapping), a question, an optional agent and what the answer must contain. The simulator
runs in-process on a free loopback port; the agent is built from config/runtime.json and asked
with the configured LM (``RESYNC_LM_MODEL`` etc., default the embedded model). ``--lm echo`` is a
scripted LM that answers with the evidence it was given: it measures the pre-analysis alone.
Prints one line per case and ``N passed, M failed``; exits 0 only when every case passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_AGENT = "tws-troubleshooter"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CaseResult:
    """The outcome of one case."""

    case: str
    agent: str
    passed: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    answer: str = ""


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


def grade(answer: str, tools: list[str], expect: dict[str, Any]) -> list[str]:
    """Return what the answer lacks (empty when the case passes); case-insensitive."""
    text = answer.lower()
    problems = [f"missing {m!r}" for m in expect.get("mentions", []) if m.lower() not in text]
    for group in expect.get("any_of", []):
        if not any(g.lower() in text for g in group):
            problems.append(f"none of {group}")
    problems += [f"says {m!r}" for m in expect.get("must_not", []) if m.lower() in text]
    problems += [f"tool {t} not called" for t in expect.get("tools", []) if t not in tools]
    return problems


def echo_lm() -> Any:
    """Return a scripted LM whose answer is the evidence of its prompt (a pre-analysis baseline)."""
    import dspy
    from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

    class EchoEngine:
        def complete(self, request: Any) -> Any:
            text = request.messages[-1].text or ""
            evidence = text.split("Question:")[0].removeprefix("Evidence:").strip()
            return Response(
                id=None,
                model="echo",
                message=Message.assistant([TextPart(evidence)]),
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


async def run_case(path: Path, registry: Any, lm: Any, agent_override: str | None) -> CaseResult:
    """Start the case's simulator, ask its question, grade the answer."""
    from resync_ext.agents.runner import run_agent_streaming
    from resync_ext.tws.client import TWSClient
    from resync_ext.tws.simulator.server import start_simulator
    from resync_ext.tws.tools import build_tools

    case = yaml.safe_load(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    scenario = case["scenario"]
    if isinstance(scenario, str):
        scenario = (path.parent / scenario).resolve()
    agent_id = agent_override or case.get("agent") or DEFAULT_AGENT
    t0 = time.perf_counter()
    sim = await start_simulator(scenario)
    client = TWSClient(sim.url, user=sim.user, password=sim.password)
    try:
        agent = registry.create(agent_id, build_tools(client))
        result = await run_agent_streaming(agent, lm, question=case["question"])
    except Exception as e:  # a crash is a failed case, reported with its cause
        return CaseResult(
            path.stem,
            agent_id,
            False,
            time.perf_counter() - t0,
            [f"error: {type(e).__name__}: {e}"],
        )
    finally:
        await client.aclose()
        await sim.stop()
    problems = grade(result.answer, result.tool_calls, case.get("expect") or {})
    return CaseResult(
        path.stem,
        agent_id,
        not problems,
        time.perf_counter() - t0,
        problems,
        result.tool_calls,
        result.answer,
    )


async def run_all(
    files: list[Path], *, agent: str | None, lm_choice: str | None, config: Path, data_dir: Path
) -> list[CaseResult]:
    """Run every case in turn (the local model serves one request at a time anyway)."""
    from resync_ext.agents.registry import AgentRegistry
    from resync_ext.llm import prepare_environment

    prepare_environment(data_dir)
    registry = AgentRegistry(config)
    await asyncio.to_thread(registry.load)
    lm = await asyncio.to_thread(configured_lm, lm_choice, data_dir)
    results = []
    for f in files:
        r = await run_case(f, registry, lm, agent)
        mark = "PASS" if r.passed else "FAIL"
        print(
            f"{mark} {r.case} [{r.agent}] {r.seconds:.1f}s"
            + ("" if r.passed else f": {'; '.join(r.problems)}"),
            flush=True,
        )
        results.append(r)
    return results


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
        )
    )
    passed = sum(r.passed for r in results)
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "passed": passed,
                    "failed": len(results) - passed,
                    "seconds": round(sum(r.seconds for r in results), 1),
                    "cases": [asdict(r) for r in results],
                },
                indent=2,
            )
        )
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
