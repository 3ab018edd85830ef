"""The byte-level storage seam every artifact backend implements.

Backends know nothing about hashing or deduplication; ``ArtifactStore`` (``store.py``)
adds those once, above them. Keys are '/'-separated relative paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["BlobBackend"]


class BlobBackend(Protocol):
    """Where bytes live: a local folder, S3, or any fsspec filesystem."""

    uri: str

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def staging_dir(self) -> Path:
        """A local folder for temporary files that ``commit`` can move in cheaply."""
        ...

    def commit(self, local_file: Path, key: str) -> None:
        """Move a complete local file to ``key`` atomically (readers never see a partial)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open the object for binary reading; FileNotFoundError when absent."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes of the stored object."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if present."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local filesystem path of the object, when the backend has one."""
        ...
