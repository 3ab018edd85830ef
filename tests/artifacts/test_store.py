"""Content-addressed blobs: deduplicated, atomic, verified on every read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conveyor.artifacts import ArtifactStore
from conveyor.errors import IntegrityError, NotFound, ValidationFailed


def test_put_is_content_addressed_and_deduplicated(artifacts: ArtifactStore) -> None:
    first = artifacts.put_bytes(b"hello")
    second = artifacts.put_stream([b"hel", b"lo"])
    assert first == second
    assert first.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert artifacts.read_bytes(first.sha256) == b"hello"
    staged = list(artifacts.backend.staging_dir().iterdir())
    assert staged == []


def test_corrupted_blob_raises_integrity_error(artifacts: ArtifactStore, tmp_path: Path) -> None:
    info = artifacts.put_bytes(b"model weights")
    path = artifacts.backend.local_path(artifacts.key(info.sha256))
    assert path is not None
    path.write_bytes(b"model weightz")
    with pytest.raises(IntegrityError, match="corrupted"):
        artifacts.read_bytes(info.sha256)
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError):
        artifacts.download(info.sha256, dest)
    assert not dest.exists()
    assert not artifacts.verify(info.sha256)


def test_unknown_and_malformed_digests(artifacts: ArtifactStore) -> None:
    with pytest.raises(NotFound, match="0" * 64):
        artifacts.read_bytes("0" * 64)
    with pytest.raises(ValidationFailed):
        artifacts.read_bytes("not-a-sha")
