"""Default weights: assembled atomically from the chunk packages and verified before loading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from resync_ext.llm import weights
from resync_ext.llm.errors import WeightsError, WeightsMismatch


def test_a_wrong_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    target = tmp_path / "models" / weights.DEFAULT_FILENAME
    target.parent.mkdir()
    target.write_bytes(b"not a model")
    with pytest.raises(WeightsMismatch) as err:
        weights.ensure_default_weights(tmp_path)
    assert "size is 11 bytes" in err.value.message and "not loaded" in err.value.message
    assert not (target.parent / (target.name + ".verified.json")).exists()


def test_verify_checks_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"abc")
    weights.verify(path, size=3, sha256=hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(WeightsMismatch, match="sha256"):
        weights.verify(path, size=3, sha256="0" * 64)


def test_missing_chunk_packages_name_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "PART_PACKAGE", "resync-no-such-package-{n}")
    with pytest.raises(WeightsError, match=r"\[local\] extra"):
        weights.part_paths()
    assert weights.default_weights_installed() is False


def test_assembly_is_atomic_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = []
    for i, chunk in enumerate([b"GGUF", b"-part-", b"three"]):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(chunk)
        parts.append(p)
    whole = b"GGUF-part-three"
    monkeypatch.setattr(weights, "part_paths", lambda: parts)
    monkeypatch.setattr(weights, "EXPECTED_SIZE", len(whole))
    monkeypatch.setattr(weights, "EXPECTED_SHA256", hashlib.sha256(whole).hexdigest())
    data = tmp_path / "data"
    path = weights.ensure_default_weights(data)
    assert path.read_bytes() == whole
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".partial")] == []
    assert weights.ensure_default_weights(data) == path  # stamped: not assembled again

    monkeypatch.setattr(weights, "EXPECTED_SHA256", "f" * 64)
    path.unlink()
    with pytest.raises(WeightsMismatch):
        weights.ensure_default_weights(data)
    assert not path.exists()  # a wrong assembly is never renamed into place


def test_local_model_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve_model_path(tmp_path / "nope.gguf", tmp_path)
    own = tmp_path / "own.gguf"
    own.write_bytes(b"x")
    assert weights.resolve_model_path(own, tmp_path) == own
