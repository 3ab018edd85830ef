"""Reading MLflow's SQL tracking schema (SQLite file or any SQLAlchemy URL) directly.

No MLflow code is involved: the tables (``experiments``, ``runs``, ``params``, ``metrics``,
``tags``, ``logged_models``, ``registered_models``, ``model_versions`` ...) are read with
plain queries. Deleted experiments and runs (``lifecycle_stage = 'deleted'``) are skipped.
MLflow 2 databases have no ``logged_models`` table; that is fine.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

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

__all__ = ["SqlSource"]

_REQUIRED = ("experiments", "runs", "params", "metrics", "tags")


class SqlSource:
    """An MLflow tracking database."""

    def __init__(self, url: str, artifacts_root: Path | None) -> None:
        self.location = url
        try:
            self.engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise ValidationFailed(
                f"--from {url}: not a database URL SQLAlchemy can open ({exc}); pass "
                "sqlite:///path/mlflow.db, a postgresql:// URL, a tracking server URL or an "
                "mlruns folder"
            ) from None
        self.artifacts = LocalArtifacts(artifacts_root)
        try:
            tables = set(sa.inspect(self.engine).get_table_names())
        except sa.exc.DatabaseError as exc:
            self.engine.dispose()
            raise ValidationFailed(f"{url} is not a readable database: {exc.orig}") from None
        if missing := [t for t in _REQUIRED if t not in tables]:
            self.engine.dispose()
            raise ValidationFailed(
                f"{url} is not an MLflow tracking database (no table {', '.join(missing)})"
            )
        self.tables = tables

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, sql: str, **binds: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), binds))

    def _pairs(self, sql: str, **binds: Any) -> dict[str, dict[str, str]]:
        """``{owner: {key: value}}`` from rows of (owner, key, value)."""
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for owner, key, value in self._rows(sql, **binds):
            out[str(owner)][key] = "" if value is None else str(value)
        return out

    def experiments(self) -> list[MlExperiment]:
        tags = self._pairs("SELECT experiment_id, key, value FROM experiment_tags")
        rows = self._rows(
            "SELECT experiment_id, name, artifact_location FROM experiments "
            "WHERE lifecycle_stage = 'active' ORDER BY experiment_id"
        )
        return [MlExperiment(str(r[0]), r[1], r[2] or "", tags.get(str(r[0]), {})) for r in rows]

    def runs(self, experiment_id: str) -> list[MlRun]:
        where = "r.experiment_id = :exp AND r.lifecycle_stage = 'active'"
        params = self._pairs(
            f"SELECT p.run_uuid, p.key, p.value FROM params p JOIN runs r "
            f"ON r.run_uuid = p.run_uuid WHERE {where}",
            exp=int(experiment_id),
        )
        tags = self._pairs(
            f"SELECT t.run_uuid, t.key, t.value FROM tags t JOIN runs r "
            f"ON r.run_uuid = t.run_uuid WHERE {where}",
            exp=int(experiment_id),
        )
        rows = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time, artifact_uri FROM runs r "
            f"WHERE {where} ORDER BY start_time, run_uuid",
            exp=int(experiment_id),
        )
        return [
            MlRun(
                id=r.run_uuid,
                experiment_id=experiment_id,
                name=r.name or "",
                status=r.status or "FINISHED",
                start_time=int(r.start_time or 0),
                end_time=None if r.end_time is None else int(r.end_time),
                artifact_uri=r.artifact_uri or "",
                params=params.get(r.run_uuid, {}),
                tags=tags.get(r.run_uuid, {}),
            )
            for r in rows
        ]

    def metric_history(self, run: MlRun) -> Iterator[Point]:
        rows = self._rows(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = :run "
            "ORDER BY key, step, timestamp",
            run=run.id,
        )
        for key, value, timestamp, step, is_nan in rows:
            yield key, math.nan if is_nan else float(value), int(timestamp), int(step or 0)

    def logged_models(self) -> list[MlLoggedModel]:
        if "logged_models" not in self.tables:
            return []
        rows = self._rows(
            "SELECT model_id, name, artifact_location, source_run_id FROM logged_models "
            "WHERE lifecycle_stage = 'active'"
        )
        return [MlLoggedModel(r[0], r[1], r[2] or "", r[3]) for r in rows]

    def registered_models(self) -> list[MlRegisteredModel]:
        if "registered_models" not in self.tables:
            return []
        tags = self._pairs("SELECT name, key, value FROM registered_model_tags")
        aliases: dict[str, dict[str, int]] = defaultdict(dict)
        if "registered_model_aliases" in self.tables:
            for alias, version, name in self._rows(
                "SELECT alias, version, name FROM registered_model_aliases"
            ):
                aliases[name][alias] = int(version)
        rows = self._rows("SELECT name, description FROM registered_models ORDER BY name")
        return [
            MlRegisteredModel(r[0], r[1] or "", tags.get(r[0], {}), aliases.get(r[0], {}))
            for r in rows
        ]

    def model_versions(self, name: str) -> list[MlModelVersion]:
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for version, key, value in self._rows(
            "SELECT version, key, value FROM model_version_tags WHERE name = :name", name=name
        ):
            tags[int(version)][key] = "" if value is None else str(value)
        location = (
            "storage_location"
            if "storage_location"
            in {c["name"] for c in sa.inspect(self.engine).get_columns("model_versions")}
            else "NULL"
        )
        rows = self._rows(
            f"SELECT version, source, run_id, description, current_stage, {location} "
            "FROM model_versions WHERE name = :name AND current_stage != 'Deleted_Internal' "
            "ORDER BY version",
            name=name,
        )
        return [
            MlModelVersion(
                name=name,
                version=int(r[0]),
                source=r[1] or "",
                run_id=r[2] or None,
                description=r[3] or "",
                tags=tags.get(int(r[0]), {}),
                current_stage=r[4] or "None",
                storage_location=r[5],
            )
            for r in rows
        ]
