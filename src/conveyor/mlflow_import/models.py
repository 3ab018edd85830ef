"""An imported MLflow model folder (``MLmodel`` + files) → a Conveyor model package.

The files are hashed as they are read from the source; the flavor mapping (which MLflow
formats Conveyor loads, and how) is :mod:`conveyor.models.mlflow_format`'s, shared with
the ``/api/2.0/mlflow`` registry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from conveyor.models import mlflow_format
from conveyor.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest
from conveyor.models.mlflow_format import MLMODEL

__all__ = ["MLMODEL", "conveyor_manifest"]


def conveyor_manifest(
    files: list[str], read: Callable[[str], bytes]
) -> tuple[ModelManifest | None, str]:
    """The manifest to add to an MLflow model folder whose files are ``files``, or None and
    the reason the model cannot be registered in Conveyor."""
    if MLMODEL not in files:
        return None, "the folder has no MLmodel file"
    entries = []
    for rel in sorted(f for f in files if f != MANIFEST_NAME):
        data = read(rel)
        entries.append(FileEntry(rel, hashlib.sha256(data).hexdigest(), len(data)))
    return mlflow_format.conveyor_manifest(read(MLMODEL), entries, read)
