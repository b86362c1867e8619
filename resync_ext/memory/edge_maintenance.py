"""Build a Qdrant Edge shard's HNSW index where no request waits: in a child process, at open.

``EdgeShard.optimize()`` holds the GIL for its whole run (70-150 s at 100 000 points on 2 cores),
which would freeze a Jupyter server's event loop. So the memory store never calls it in the
server: when a shard it is about to open has at least ``index_threshold`` unindexed points, it runs
``python -m resync_ext.memory.edge_maintenance PATH`` and waits for it from a worker thread (the
wait releases the GIL), then opens the optimized shard. Below the threshold new points stay in the
appendable segment, searched exactly at a cost of about 1 ms per 10 000 points.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

from resync_ext.memory.errors import StoreLocked, StoreUnavailable

CONFIG_FILE = "edge_config.json"
DEFAULT_INDEX_THRESHOLD = 20_000


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
    """Index the shard at ``path`` in a child process if enough points are unindexed."""
    log = log or logging.getLogger(__name__)
    if index_threshold <= 0 or not (path / CONFIG_FILE).exists():
        return False
    points, indexed = point_counts(path)
    if points - indexed < index_threshold:
        return False
    log.info("memory: indexing %d unindexed of %d points at %s", points - indexed, points, path)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "resync_ext.memory.edge_maintenance", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise StoreUnavailable(
            f"indexing the vector store at {path} took over {timeout_s:g}s"
        ) from e
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise StoreUnavailable(f"indexing the vector store at {path} failed: {tail[0]}")
    log.info("memory: indexed %s in %.1fs", path, time.perf_counter() - t0)
    return True


def optimize(path: Path) -> dict[str, float]:
    """Optimize (index, merge, vacuum) the shard at ``path`` in this process, then flush it."""
    import qdrant_edge as qe

    t0 = time.perf_counter()
    shard = qe.EdgeShard.load(str(path))
    try:
        shard.optimize()
        shard.flush()
        info = shard.info()
        return {
            "points": info.points_count,
            "indexed": info.indexed_vectors_count,
            "segments": info.segments_count,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    finally:
        shard.close()


def main(argv: list[str] | None = None) -> int:
    """Optimize the shard directory given as the only argument; print the result as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m resync_ext.memory.edge_maintenance SHARD_DIR", file=sys.stderr)
        return 2
    print(json.dumps(optimize(Path(args[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
