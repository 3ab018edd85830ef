"""The manifest ``conveyor-model.json``: what a model directory holds and how to load it.

Example (abridged)::

    {
      "format_version": 1,
      "flavor": "sklearn",
      "flavor_options": {"file": "model.skops", "trusted_types": ["sklearn.tree._tree.Tree"]},
      "files": [{"path": "model.skops", "sha256": "9f2c...", "size": 48213},
                {"path": "input_example.json", "sha256": "1ab0...", "size": 312}],
      "signature": {"inputs": [{"name": "age", "type": "double", "required": true}],
                    "outputs": [{"type": "long", "required": true}]},
      "input_example": "input_example.json",
      "python_version": "3.11.7",
      "packages": {"scikit-learn": "1.9.1", "skops": "0.16.0", "numpy": "2.4.6"},
      "pip_requirements": null,
      "created": "2026-11-27T21:52:29.123+00:00",
      "metadata": {}
    }

The manifest bytes are canonical JSON (sorted keys, two-space indent, UTF-8), written once by
:func:`conveyor.models.save_model`; their sha256 (:meth:`ModelManifest.digest`) is the model's
identity. Every other file in the directory is listed with its sha256 and size, and
:func:`conveyor.models.load_model` checks them all before it loads anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conveyor.artifacts.paths import check_relative_path
from conveyor.errors import IntegrityError, NotFound, ValidationFailed

__all__ = ["FORMAT_VERSION", "MANIFEST_NAME", "FileEntry", "ModelManifest", "hash_file"]

#: Version of the directory layout and manifest schema this code writes and reads.
FORMAT_VERSION = 1
#: File name of the manifest inside a model directory.
MANIFEST_NAME = "conveyor-model.json"
_CHUNK = 1 << 20


def hash_file(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size in bytes of a file, read in chunks."""
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _safe_relpath(rel: str) -> str:
    checked = check_relative_path(rel, "model file path in the manifest")
    if checked != rel:  # the manifest lists files exactly as saved: no "./" or "//"
        raise ValidationFailed(
            f"manifest lists the file path {rel!r} in a non-canonical form; save the model again"
        )
    return rel


@dataclass(frozen=True)
class FileEntry:
    """One file of a model directory: relative POSIX path, sha256 hex, size in bytes."""

    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    def verify(self, root: Path) -> None:
        """Raise IntegrityError unless the file exists and hashes to ``sha256``."""
        target = root / _safe_relpath(self.path)
        if not target.is_file():
            raise IntegrityError(
                f"model file {self.path!r} is missing from {root}; the model directory is "
                "incomplete: download or save the model again",
                details={"file": self.path, "expected": self.sha256, "actual": None},
            )
        actual, size = hash_file(target)
        if actual != self.sha256:
            raise IntegrityError(
                f"model file {self.path!r} does not match its manifest: expected sha256 "
                f"{self.sha256}, got {actual} ({size} bytes, expected {self.size}). The file "
                "was changed after saving; restore it or save the model again.",
                details={"file": self.path, "expected": self.sha256, "actual": actual},
            )


@dataclass(frozen=True)
class ModelManifest:
    """Parsed ``conveyor-model.json``."""

    flavor: str
    flavor_options: dict[str, Any]
    files: tuple[FileEntry, ...]
    signature: dict[str, Any] | None = None
    input_example: str | None = None
    python_version: str = ""
    packages: dict[str, str] = field(default_factory=dict)
    pip_requirements: list[str] | None = None
    created: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "flavor_options": self.flavor_options,
            "files": [f.to_dict() for f in self.files],
            "signature": self.signature,
            "input_example": self.input_example,
            "python_version": self.python_version,
            "packages": self.packages,
            "pip_requirements": self.pip_requirements,
            "created": self.created,
            "metadata": self.metadata,
        }

    def to_bytes(self) -> bytes:
        """The canonical manifest bytes (what is written and what :meth:`digest` hashes)."""
        text = json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def digest(self) -> str:
        """sha256 of the canonical manifest bytes: the model's identity."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def covers(self, rel: str) -> bool:
        """True when ``rel`` is a listed file or a folder holding listed files."""
        rel = check_relative_path(rel, "model file path")
        return any(f.path == rel or f.path.startswith(rel + "/") for f in self.files)

    def file(self, rel: str) -> FileEntry:
        """The entry for ``rel``; ValidationFailed when the manifest does not list it."""
        for entry in self.files:
            if entry.path == rel:
                return entry
        raise ValidationFailed(f"the manifest does not list the file {rel!r}")

    @classmethod
    def from_dict(cls, data: Any) -> ModelManifest:
        if not isinstance(data, dict):
            raise ValidationFailed("conveyor-model.json must hold a JSON object")
        version = data.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ValidationFailed(f"conveyor-model.json: bad format_version {version!r}")
        if version > FORMAT_VERSION:
            raise ValidationFailed(
                f"this model was saved in model format {version}, newer than the {FORMAT_VERSION} "
                "this Conveyor reads; upgrade conveyor-mlops to load it"
            )
        try:
            files = tuple(
                FileEntry(_safe_relpath(str(f["path"])), str(f["sha256"]), int(f["size"]))
                for f in data["files"]
            )
            example = data.get("input_example")
            if example is not None and example not in {f.path for f in files}:
                raise ValidationFailed(f"input_example {example!r} is not a listed file")
            return cls(
                flavor=str(data["flavor"]),
                flavor_options=dict(data.get("flavor_options") or {}),
                files=files,
                signature=data.get("signature"),
                input_example=data.get("input_example"),
                python_version=str(data.get("python_version", "")),
                packages=dict(data.get("packages") or {}),
                pip_requirements=data.get("pip_requirements"),
                created=str(data.get("created", "")),
                metadata=dict(data.get("metadata") or {}),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"conveyor-model.json is malformed: {exc!r}") from exc

    @classmethod
    def read(cls, root: Path) -> ModelManifest:
        """Read and parse the manifest of the model directory ``root``."""
        path = root / MANIFEST_NAME
        if not path.is_file():
            raise NotFound(
                f"{root} is not a Conveyor model directory: it has no {MANIFEST_NAME}. "
                "Save the model with conveyor.models.save_model first."
            )
        try:
            data = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                f"{path} is not valid JSON ({exc}); save the model again"
            ) from exc
        return cls.from_dict(data)
