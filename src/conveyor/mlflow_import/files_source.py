"""Reading an ``mlruns`` folder written by MLflow's file store.

Layout: ``<exp id>/meta.yaml`` (+ ``tags/``), ``<exp id>/<run id>/{meta.yaml, params/,
metrics/, tags/}``, MLflow 3 logged models in ``<exp id>/models/<model id>/meta.yaml``, and
the registry in ``models/<name>/{meta.yaml, tags/, aliases/, version-<n>/}``. Keys with
``/`` are nested folders. Metric files hold ``<timestamp> <value> <step>`` lines; MLflow 3
writes some points twice, so exact repeats are dropped. Deleted objects (``.trash``,
``lifecycle_stage: deleted``) are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from conveyor.errors import ValidationFailed
from conveyor.mlflow_import.artifacts import LocalArtifacts
from conveyor.mlflow_import.records import (
    MlExperiment,
    MlLoggedModel,
    MlModelVersion,
    MlRegisteredModel,
    MlRun,
    Point,
)

__all__ = ["FilesSource"]

#: MLflow's RunStatus numbers in run meta.yaml files
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def _meta(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def _values(folder: Path) -> dict[str, str]:
    """``{key: file content}`` of a params/ or tags/ folder (nested folders: ``a/b``)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class FilesSource:
    """An ``mlruns`` folder."""

    def __init__(self, root: Path, artifacts_root: Path | None) -> None:
        self.root = root
        self.location = str(root)
        self.artifacts = LocalArtifacts(artifacts_root)
        if not any((d / "meta.yaml").is_file() for d in root.iterdir() if d.is_dir()):
            raise ValidationFailed(
                f"{root} is not an mlruns folder (no <experiment id>/meta.yaml) and holds no "
                "mlflow.db"
            )

    def close(self) -> None:
        return None

    def _experiment_dirs(self) -> list[Path]:
        dirs = [
            d
            for d in self.root.iterdir()
            if d.is_dir() and d.name not in (".trash", "models") and (d / "meta.yaml").is_file()
        ]
        return sorted(dirs, key=lambda d: (len(d.name), d.name))

    def experiments(self) -> list[MlExperiment]:
        out = []
        for d in self._experiment_dirs():
            meta = _meta(d / "meta.yaml")
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            out.append(
                MlExperiment(
                    str(meta.get("experiment_id", d.name)),
                    str(meta.get("name", d.name)),
                    str(meta.get("artifact_location") or ""),
                    _values(d / "tags"),
                )
            )
        return out

    def runs(self, experiment_id: str) -> list[MlRun]:
        runs = []
        for d in (self.root / experiment_id).iterdir():
            meta = _meta(d / "meta.yaml")
            if (
                d.name in ("models", "tags")
                or not meta
                or ("run_id" not in meta and "run_uuid" not in meta)
            ):
                continue
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            status = meta.get("status", 3)
            runs.append(
                MlRun(
                    id=str(meta.get("run_id") or meta["run_uuid"]),
                    experiment_id=experiment_id,
                    name=str(meta.get("run_name") or ""),
                    status=_STATUS.get(status, str(status))
                    if isinstance(status, int)
                    else str(status),
                    start_time=int(meta.get("start_time") or 0),
                    end_time=None if meta.get("end_time") is None else int(meta["end_time"]),
                    artifact_uri=str(meta.get("artifact_uri") or ""),
                    params=_values(d / "params"),
                    tags=_values(d / "tags"),
                )
            )
        return sorted(runs, key=lambda r: (r.start_time, r.id))

    def metric_history(self, run: MlRun) -> Iterator[Point]:
        folder = self.root / run.experiment_id / run.id / "metrics"
        for key, text in _values(folder).items():
            seen: set[tuple[str, str, str]] = set()
            for line in text.splitlines():
                parts = line.split()
                if len(parts) < 2 or tuple(parts[:3]) in seen:
                    continue
                seen.add(tuple(parts[:3]))  # type: ignore[arg-type]
                value = float(parts[1])
                step = int(parts[2]) if len(parts) > 2 else 0
                yield key, math.nan if math.isnan(value) else value, int(parts[0]), step

    def logged_models(self) -> list[MlLoggedModel]:
        out = []
        for d in self._experiment_dirs():
            for m in sorted((d / "models").glob("*/meta.yaml")):
                meta = _meta(m)
                if meta.get("lifecycle_stage", "active") != "active":
                    continue
                out.append(
                    MlLoggedModel(
                        str(meta["model_id"]),
                        str(meta.get("name") or "model"),
                        str(meta.get("artifact_location") or ""),
                        meta.get("source_run_id"),
                    )
                )
        return out

    def registered_models(self) -> list[MlRegisteredModel]:
        out = []
        for meta_file in sorted((self.root / "models").glob("*/meta.yaml")):
            meta, folder = _meta(meta_file), meta_file.parent
            aliases = {k: int(v) for k, v in (meta.get("aliases") or {}).items()}
            aliases.update({k: int(v) for k, v in _values(folder / "aliases").items()})
            out.append(
                MlRegisteredModel(
                    str(meta.get("name", folder.name)),
                    str(meta.get("description") or ""),
                    _values(folder / "tags"),
                    aliases,
                )
            )
        return out

    def model_versions(self, name: str) -> list[MlModelVersion]:
        out = []
        for meta_file in (self.root / "models" / name).glob("version-*/meta.yaml"):
            meta = _meta(meta_file)
            if meta.get("current_stage") == "Deleted_Internal":
                continue
            out.append(
                MlModelVersion(
                    name=name,
                    version=int(meta["version"]),
                    source=str(meta.get("source") or ""),
                    run_id=meta.get("run_id") or None,
                    description=str(meta.get("description") or ""),
                    tags=_values(meta_file.parent / "tags"),
                    current_stage=str(meta.get("current_stage") or "None"),
                    storage_location=meta.get("storage_location"),
                )
            )
        return sorted(out, key=lambda v: v.version)
