"""The dataset functions of the fluent SDK: ``conveyor.log_dataset``, ``log_input``,
``load_dataset``. They work in embedded and server mode alike (through ``connect()``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from conveyor.data.entities import DatasetVersion
from conveyor.data.service import raise_failed_checks
from conveyor.errors import ValidationFailed

__all__ = ["get_version", "load_dataset", "log_dataset", "log_input"]


def _backend() -> Any:
    from conveyor.backend import connect

    return connect()


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
) -> DatasetVersion:
    """Log ``data`` as a version of dataset ``name`` (same content -> same version).

    ``data`` is a pandas DataFrame, a pyarrow Table, or a path to a Parquet/CSV file.
    With an active run (and ``link_to_run``), the version becomes the run's input under
    ``context``. Checks in ``expectations`` are stored with the version; with
    ``raise_on_failure`` a failure raises ``ValidationFailed`` after the version is
    committed, so nothing is lost.
    """
    from conveyor.tracking.fluent import active_run

    run = active_run() if link_to_run else None
    if run is not None:
        run.buffer.flush()
    dv: DatasetVersion = _backend().log_dataset(
        name,
        data,
        description=description,
        source=source,
        expectations=expectations,
        run_id=None if run is None else run.id,
        context=context,
    )
    report = dv.check_report()
    if raise_on_failure and report is not None:
        raise_failed_checks(report, dv)
    return dv


def log_input(dataset_version: DatasetVersion | str, context: str = "training") -> None:
    """Link a dataset version (object or id) to the active run, starting one if needed."""
    from conveyor.tracking.fluent import _run_for_call

    if isinstance(dataset_version, DatasetVersion):
        dv_id = dataset_version.id
    elif isinstance(dataset_version, str):
        dv_id = dataset_version
    else:
        raise ValidationFailed(
            f"log_input takes a DatasetVersion or its id, got a {type(dataset_version).__name__}; "
            "pass a DatasetVersion from log_dataset(...): "
            "dv = conveyor.log_dataset(df, 'name'); conveyor.log_input(dv)"
        )
    with _run_for_call() as run:
        run.backend.link_input(run.id, dv_id, context)


def load_dataset(name: str, version: int | str | None = None) -> pd.DataFrame:
    """A dataset version as a pandas DataFrame (the latest version by default)."""
    frame: pd.DataFrame = _backend().load_dataset(name, version)
    return frame


def get_version(dataset_version_id: str) -> DatasetVersion:
    """A dataset version by id."""
    dv: DatasetVersion = _backend().get_dataset_version_by_id(dataset_version_id)
    return dv
