"""Run every benchmarks/bench_*.py, print a table and write benchmarks/results.json.

Usage: ``python -m benchmarks.run [--quick] [--only NAME ...]``. Each module exposes
``run(quick: bool) -> list[dict]``; a module that fails is reported and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit 1 when a benchmark module failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", help="module names without bench_ (e.g. startup)")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in names:
        t0 = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows = module.run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for row in rows:
            row.setdefault("baseline", None)
            row.setdefault("ratio", None)
            row.setdefault("params", {})
            row["params"].setdefault("module", name)
        results.extend(rows)
        print(f"   {len(rows)} figures in {time.perf_counter() - t0:.1f}s", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    width = max([len(r["name"]) for r in results] + [10])
    print(f"\n{'name':<{width}}  {'value':>10}  {'unit':<8}  {'baseline':>10}  {'ratio':>7}")
    for r in results:
        print(
            f"{r['name']:<{width}}  {_fmt(r['value']):>10}  {r['unit']:<8}  "
            f"{_fmt(r['baseline']):>10}  {_fmt(r['ratio']):>7}"
        )
    print(f"\nwrote {args.out}" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
