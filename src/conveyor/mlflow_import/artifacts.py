"""Reading MLflow artifact URIs: local folders (``/path``, ``file://``) and, for a tracking
server, its artifact proxy (``mlflow-artifacts:/``).

``--artifacts <root>`` says where the artifacts are on this machine when the store's
recorded paths are not (a copied ``mlruns`` folder, a server's ``--artifacts-destination``):
``mlflow-artifacts:/<rest>`` becomes ``<root>/<rest>``; a recorded path that does not exist
is looked up under ``<root>`` by its trailing parts (``<experiment id>/<run id>/artifacts``
or ``<experiment id>/models/<model id>/artifacts``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from conveyor.errors import NotFound, ValidationFailed

__all__ = ["LocalArtifacts", "ProxyArtifacts", "local_path"]

#: trailing parts of an MLflow artifact folder tried under --artifacts
_TAILS = (4, 3, 2)


def local_path(uri: str, root: Path | None) -> Path:
    """The folder on this machine holding the artifacts recorded at ``uri``."""
    parsed = urlparse(uri)
    if parsed.scheme == "mlflow-artifacts":
        if root is None:
            raise ValidationFailed(
                f"artifacts at {uri} are served by an MLflow server's artifact proxy; import "
                "from the server's URL, or pass --artifacts <its --artifacts-destination>"
            )
        return root / unquote(parsed.path).lstrip("/")
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:  # "C:" is a drive
        raise ValidationFailed(
            f"artifacts at {uri} are in {parsed.scheme!r} storage, which the importer does not "
            "read; copy them to a local folder and pass --artifacts <that folder>"
        )
    path = Path(unquote(parsed.path) if parsed.scheme == "file" else uri)
    if path.exists() or root is None:
        return path
    if not path.is_absolute():
        return root / path
    for tail in _TAILS:
        candidate = root.joinpath(*path.parts[-tail:])
        if candidate.exists():
            return candidate
    return path


class LocalArtifacts:
    """Artifacts in local folders."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def list_files(self, uri: str) -> list[str]:
        folder = local_path(uri, self.root)
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def read(self, uri: str, rel: str) -> bytes:
        return (local_path(uri, self.root) / rel).read_bytes()


class ProxyArtifacts:
    """Artifacts of a tracking server: ``mlflow-artifacts:/`` URIs through its artifact
    proxy (``/api/2.0/mlflow-artifacts/artifacts``), other URIs as local folders."""

    def __init__(self, http: Any, root: Path | None) -> None:
        self.http = http
        self.local = LocalArtifacts(root)

    @staticmethod
    def _proxied(uri: str) -> str | None:
        parsed = urlparse(uri)
        return unquote(parsed.path).strip("/") if parsed.scheme == "mlflow-artifacts" else None

    def list_files(self, uri: str) -> list[str]:
        base = self._proxied(uri)
        if base is None:
            return self.local.list_files(uri)
        out: list[str] = []
        pending = [""]
        while pending:
            rel = pending.pop()
            path = f"{base}/{rel}".rstrip("/")
            answer = self.http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
            answer.raise_for_status()
            for entry in answer.json().get("files", []):
                child = f"{rel}/{entry['path']}".lstrip("/") if rel else entry["path"]
                (pending if entry.get("is_dir") else out).append(child)
        return sorted(out)

    def read(self, uri: str, rel: str) -> bytes:
        base = self._proxied(uri)
        if base is None:
            return self.local.read(uri, rel)
        answer = self.http.get(f"/api/2.0/mlflow-artifacts/artifacts/{base}/{rel}")
        if answer.status_code == 404:
            raise NotFound(f"the MLflow server has no artifact {base}/{rel}")
        answer.raise_for_status()
        return bytes(answer.content)
