"""Content-addressed artifact store: bytes stored once under their sha256, verified on read.

Hashing, deduplication, atomic commit and verification live here once, above the byte
backends (``local.py``, ``fsspec_backend.py``), which are chosen by URL scheme and
imported lazily.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from conveyor.artifacts.base import BlobBackend
from conveyor.errors import IntegrityError, NotFound, ValidationFailed

__all__ = ["BACKENDS", "ArtifactStore", "BlobInfo", "write_atomically"]

CHUNK = 1 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")

#: URL scheme -> "module:Class"; schemes not listed go to the fsspec backend.
BACKENDS: dict[str, str] = {
    "": "conveyor.artifacts.local:LocalBackend",
    "file": "conveyor.artifacts.local:LocalBackend",
}
_FSSPEC = "conveyor.artifacts.fsspec_backend:FsspecBackend"


class BlobInfo(NamedTuple):
    """A stored blob: its sha256 (hex) and size in bytes."""

    sha256: str
    size: int


def _load(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA.match(sha256):
        raise ValidationFailed(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class ArtifactStore:
    """Blobs addressed by sha256 on a byte backend."""

    def __init__(self, backend: BlobBackend) -> None:
        self.backend = backend

    @classmethod
    def from_uri(cls, uri: str, **storage_options: Any) -> ArtifactStore:
        """Open the store at a folder path or an fsspec URL (``s3://bucket/prefix``)."""
        scheme = uri.split("://", 1)[0] if "://" in uri else ""
        if scheme == "file":
            uri = uri.split("://", 1)[1]
        backend_cls = _load(BACKENDS.get(scheme, _FSSPEC))
        if scheme in ("", "file"):
            return cls(backend_cls(uri))
        return cls(backend_cls(uri, **storage_options))

    @property
    def uri(self) -> str:
        return self.backend.uri

    @staticmethod
    def key(sha256: str) -> str:
        return f"blobs/sha256/{sha256[:2]}/{sha256[2:]}"

    # -- writing -------------------------------------------------------------------------
    def put_stream(self, chunks: Iterable[bytes] | BinaryIO) -> BlobInfo:
        """Store a stream of bytes with bounded memory; returns its sha256 and size."""
        stream: Iterable[bytes]
        if hasattr(chunks, "read"):
            reader: Any = chunks
            stream = iter(lambda: reader.read(CHUNK), b"")
        else:
            stream = chunks
        hasher, size = hashlib.sha256(), 0
        tmp = self.backend.staging_dir() / f"{uuid.uuid4().hex}.part"
        try:
            with open(tmp, "wb") as out:
                for chunk in stream:
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = hasher.hexdigest()
            if self.backend.exists(self.key(sha)):
                tmp.unlink()
            else:
                self.backend.commit(tmp, self.key(sha))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return BlobInfo(sha, size)

    def put_file(self, path: str | Path) -> BlobInfo:
        """Store a local file."""
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes held in memory."""
        return self.put_stream([data])

    # -- reading -------------------------------------------------------------------------
    def exists(self, sha256: str) -> bool:
        return self.backend.exists(self.key(_check_sha(sha256)))

    def size(self, sha256: str) -> int:
        try:
            return self.backend.size(self.key(_check_sha(sha256)))
        except FileNotFoundError:
            raise NotFound(f"artifact blob {sha256} is not in the store at {self.uri}") from None

    def iter_chunks(self, sha256: str, *, verify: bool = True) -> Iterator[bytes]:
        """Yield the blob's bytes; raises IntegrityError at the end if they do not hash back."""
        key = self.key(_check_sha(sha256))
        try:
            fh = self.backend.open(key)
        except FileNotFoundError:
            raise NotFound(f"artifact blob {sha256} is not in the store at {self.uri}") from None
        hasher = hashlib.sha256()
        with fh:
            while chunk := fh.read(CHUNK):
                if verify:
                    hasher.update(chunk)
                yield chunk
        if verify and hasher.hexdigest() != sha256:
            raise IntegrityError(
                f"artifact blob {sha256} is corrupted: its bytes hash to {hasher.hexdigest()}. "
                "Restore it from a backup or log the artifact again.",
                details={"expected": sha256, "actual": hasher.hexdigest()},
            )

    def read_bytes(self, sha256: str) -> bytes:
        """The whole blob, verified."""
        return b"".join(self.iter_chunks(sha256))

    def download(self, sha256: str, dest: str | Path) -> Path:
        """Write the verified blob to ``dest`` atomically; a corrupted blob leaves no file."""
        return write_atomically(dest, self.iter_chunks(sha256))

    def verify(self, sha256: str) -> bool:
        """True when the stored bytes hash to ``sha256``."""
        try:
            for _ in self.iter_chunks(sha256):
                pass
        except IntegrityError:
            return False
        return True


def write_atomically(dest: str | Path, chunks: Iterable[bytes]) -> Path:
    """Write ``chunks`` to ``dest`` through a temporary file and a rename.

    If the chunks raise (e.g. an ``IntegrityError`` from a verifying reader), no file is
    left at ``dest`` or beside it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
