"""Artifacts on any fsspec filesystem (``s3://``, ``gs://``, ``memory://`` ...).

An S3 PUT is atomic per object, so ``commit`` uploads the finished local file straight
to its final key; readers never see a partial object.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, cast

import fsspec

__all__ = ["FsspecBackend"]


class FsspecBackend:
    """A bucket or prefix reached through fsspec."""

    def __init__(self, uri: str, **storage_options: Any) -> None:
        self.uri = uri.rstrip("/")
        self.fs, self._root = fsspec.core.url_to_fs(self.uri, **storage_options)
        self._staging = Path(tempfile.gettempdir()) / "conveyor-staging"
        self._staging.mkdir(parents=True, exist_ok=True)

    def _key(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError(f"artifact key escapes the store: {key!r}")
        return f"{self._root}/{key}"

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._key(key)))

    def staging_dir(self) -> Path:
        return self._staging

    def commit(self, local_file: Path, key: str) -> None:
        try:
            self.fs.put_file(str(local_file), self._key(key))
        finally:
            os.unlink(local_file)

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, self.fs.open(self._key(key), "rb"))

    def size(self, key: str) -> int:
        return int(self.fs.size(self._key(key)))

    def delete(self, key: str) -> None:
        if self.fs.exists(self._key(key)):
            self.fs.rm_file(self._key(key))

    def local_path(self, key: str) -> Path | None:
        return None
