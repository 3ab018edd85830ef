"""Artifacts in a local folder; writes are a temporary file in the same folder + rename."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["LocalBackend"]


class LocalBackend:
    """A folder on this machine (the embedded default: ``<home>/artifacts``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.uri = str(self.root)
        (self.root / ".staging").mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"artifact key escapes the store: {key!r}")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def staging_dir(self) -> Path:
        return self.root / ".staging"

    def commit(self, local_file: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local_file, target)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)
