"""``--from``: which reader an MLflow location needs.

- ``http://`` / ``https://``: a tracking server (REST API; ``MLFLOW_TRACKING_TOKEN`` is
  sent as a bearer token when set);
- a SQLAlchemy URL (``sqlite:///mlflow.db``, ``postgresql://...``) or a path to a SQLite
  file: the tracking database;
- a folder: an ``mlruns`` folder written by MLflow's file store, or a folder holding
  ``mlflow.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

from conveyor.errors import ValidationFailed
from conveyor.mlflow_import.records import MlflowSource

__all__ = ["open_source"]


def open_source(location: str, artifacts: str | Path | None = None) -> MlflowSource:
    """The reader for ``location`` (see the module docstring)."""
    root = None if artifacts is None else Path(artifacts).expanduser().resolve()
    if root is not None and not root.is_dir():
        raise ValidationFailed(f"--artifacts {artifacts}: not a folder")
    if location.startswith(("http://", "https://")):
        from conveyor.mlflow_import.rest_source import RestSource

        return RestSource(location, root, os.environ.get("MLFLOW_TRACKING_TOKEN"))
    if "://" in location:
        from conveyor.mlflow_import.sql_source import SqlSource

        return SqlSource(location, root)
    path = Path(location).expanduser().resolve()
    if path.is_file():
        from conveyor.mlflow_import.sql_source import SqlSource

        return SqlSource(f"sqlite:///{path}", root)
    if path.is_dir():
        if (path / "mlflow.db").is_file():
            from conveyor.mlflow_import.sql_source import SqlSource

            return SqlSource(f"sqlite:///{path / 'mlflow.db'}", root)
        from conveyor.mlflow_import.files_source import FilesSource

        return FilesSource(path, root)
    raise ValidationFailed(
        f"--from {location}: not a tracking server URL, a database URL, a SQLite file or an "
        "mlruns folder"
    )
