"""The dataset functions of the fluent SDK: ``conveyor.log_dataset``, ``log_input``,
``load_dataset``. They run against the embedded store (``CONVEYOR_URI`` empty).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from conveyor.data.entities import DatasetVersion
from conveyor.data.service import (
    DEFAULT_PROJECT_ID,
    get_dataset_version,
    get_dataset_version_by_id,
    link_run_input,
    load_dataset_version,
    record_dataset_version,
)
from conveyor.errors import ValidationFailed

__all__ = ["get_version", "load_dataset", "log_dataset", "log_input"]


def _local() -> Any:
    from conveyor.backend import LocalBackend, connect

    backend = connect()
    if not isinstance(backend, LocalBackend):
        raise ValidationFailed(
            "datasets are only available in embedded mode for now: unset CONVEYOR_URI "
            "(or log the dataset on the server's machine)"
        )
    return backend


def log_dataset(
    data: Any,
    name: str,
    *,
    description: str = "",
    source: str = "",
    expectations: Any = None,
    raise_on_failure: bool = False,
    context: str = "training",
    link_to_run: bool = True,
    project_id: str = DEFAULT_PROJECT_ID,
) -> DatasetVersion:
    """Log ``data`` as a version of dataset ``name`` (same content -> same version).

    With an active run (and ``link_to_run``), the version becomes the run's input under
    ``context``. Checks in ``expectations`` are stored with the version; with
    ``raise_on_failure`` a failure raises ``ValidationFailed`` after everything is
    committed.
    """
    from conveyor.tracking.fluent import active_run

    backend = _local()
    run = active_run() if link_to_run else None
    return record_dataset_version(
        backend.meta,
        backend.artifacts,
        backend.actor,
        name=name,
        data=data,
        project_id=project_id,
        description=description,
        source=source,
        expectations=expectations,
        raise_on_failure=raise_on_failure,
        run_id=None if run is None else run.id,
        context=context,
    )


def log_input(dataset_version: DatasetVersion | str, context: str = "training") -> None:
    """Link a dataset version (object or id) to the active run, starting one if needed."""
    from conveyor.tracking.fluent import active_run, start_run

    backend = _local()
    run = active_run() or start_run()
    dv_id = dataset_version.id if isinstance(dataset_version, DatasetVersion) else dataset_version
    with backend.meta.write(backend.actor) as uow:
        link_run_input(uow, run.id, str(dv_id), context)


def load_dataset(
    name: str, version: int | str | None = None, *, project_id: str = DEFAULT_PROJECT_ID
) -> pd.DataFrame:
    """A dataset version as a pandas DataFrame (the latest version by default)."""
    backend = _local()
    with backend.meta.read() as conn:
        dv = get_dataset_version(conn, name, version, project_id=project_id)
    frame = load_dataset_version(backend.artifacts, dv, as_pandas=True)
    assert isinstance(frame, pd.DataFrame)
    return frame


def get_version(dataset_version_id: str) -> DatasetVersion:
    """A dataset version by id (embedded mode)."""
    backend = _local()
    with backend.meta.read() as conn:
        return get_dataset_version_by_id(conn, dataset_version_id)
