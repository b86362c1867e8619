"""Build a Qdrant Edge shard's HNSW index where no request waits: in a child process, at open.

``EdgeShard.optimize()`` holds the GIL for its whole run (70-150 s at 100 000 points on 2 cores),
which would freeze a Jupyter server's event loop. So the memory store never calls it in the
server: before it opens a shard, it runs ``python -m resync_ext.memory.edge_maintenance PATH``,
which optimizes the shard when at least ``index_threshold`` points are unindexed, and waits for it
from a worker thread (the wait releases the GIL); then it opens the optimized shard. Below the
threshold new points stay in the appendable segment, searched exactly (about 1 ms per 10 000).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from resync_ext.memory.errors import StoreLocked, StoreUnavailable

CONFIG_FILE = "edge_config.json"
DEFAULT_INDEX_THRESHOLD = 20_000
EXIT_LOCKED = 75  # EX_TEMPFAIL: another process holds the shard


def point_counts(path: Path) -> tuple[int, int]:
    """Return ``(points, indexed vectors)`` of the shard at ``path`` (opened and closed again)."""
    import qdrant_edge as qe

    try:
        shard = qe.EdgeShard.load(str(path))
    except Exception as e:  # the engine raises bare Exception
        if "WouldBlock" in str(e):
            raise StoreLocked(str(path)) from e
        raise StoreUnavailable(f"cannot open the vector store at {path}: {e}") from e
    try:
        info = shard.info()
        return int(info.points_count), int(info.indexed_vectors_count)
    finally:
        shard.close()


def prepare(
    path: Path,
    *,
    index_threshold: int = DEFAULT_INDEX_THRESHOLD,
    timeout_s: float = 1800.0,
    log: logging.Logger | None = None,
) -> bool:
    """Index the shard at ``path`` in a child process if enough points are unindexed.

    Even counting runs in the child: loading a shard holds the GIL for a moment too (0.1-0.4 s).
    Returns whether the child built an index.
    """
    log = log or logging.getLogger(__name__)
    if index_threshold <= 0 or not (path / CONFIG_FILE).exists():
        return False
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "resync_ext.memory.edge_maintenance", str(path)]
    cmd += ["--min-unindexed", str(index_threshold)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise StoreUnavailable(
            f"indexing the vector store at {path} took over {timeout_s:g}s"
        ) from e
    if done.returncode == EXIT_LOCKED:
        raise StoreLocked(str(path))
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StoreUnavailable(f"indexing the vector store at {path} failed: {tail[0]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["optimized"]:
        log.info(
            "memory: indexed %d points at %s in %.1fs (in a child process)",
            result["points"],
            path,
            time.perf_counter() - t0,
        )
    return bool(result["optimized"])


def optimize_if_needed(path: Path, min_unindexed: int) -> dict[str, Any]:
    """Optimize (index, merge, vacuum) the shard at ``path`` in this process if it needs it."""
    import qdrant_edge as qe

    t0 = time.perf_counter()
    shard = qe.EdgeShard.load(str(path))
    try:
        info = shard.info()
        optimized = info.points_count - info.indexed_vectors_count >= min_unindexed
        if optimized:
            shard.optimize()
            shard.flush()
            info = shard.info()
        return {
            "optimized": optimized,
            "points": info.points_count,
            "indexed": info.indexed_vectors_count,
            "segments": info.segments_count,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    finally:
        shard.close()


def main(argv: list[str] | None = None) -> int:
    """Optimize the shard directory given if enough points are unindexed; print JSON."""
    parser = argparse.ArgumentParser(prog="python -m resync_ext.memory.edge_maintenance")
    parser.add_argument("shard_dir", type=Path)
    parser.add_argument("--min-unindexed", type=int, default=0)
    args = parser.parse_args(argv)
    if hasattr(os, "nice"):
        os.nice(10)  # background work: on a busy machine the server's threads go first
    try:
        result = optimize_if_needed(args.shard_dir, args.min_unindexed)
    except Exception as e:  # the engine raises bare Exception
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_LOCKED if "WouldBlock" in str(e) else 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
