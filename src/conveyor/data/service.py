"""Dataset services: log immutable, content-addressed versions; read them back; link runs.

Writers take a ``UnitOfWork`` (one write transaction + the actor) and an
``ArtifactStore``; readers take a ``sqlalchemy.Connection``.

Logging a version: the data is read into Arrow and hashed by content. If the dataset
already has a version with that hash, it is returned unchanged (no new row, no new file).
Otherwise the schema is inferred, the data profiled and checked, its Parquet file stored
in the artifact store, and the next version number taken with an atomic
``UPDATE datasets SET latest_version = latest_version + 1 ... RETURNING`` — the row lock
it takes serialises concurrent writers of one dataset, so numbers are gap-free on SQLite
and PostgreSQL. Row and audit event are written in the caller's unit of work.

Failed checks are stored in the version (``checks``). With ``raise_on_failure=True`` a
``ValidationFailed`` is raised *after* the version row and its audit event are written;
the error's ``details["dataset_version"]`` holds the stored version. Inside your own
``store.write(...)`` block, catch it there to keep the version (an exception leaving the
block rolls the transaction back); ``record_dataset_version`` does this for you: it
commits first and raises afterwards.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from conveyor._schema import NAME_PATTERN, DatasetVersionRef, Name, Rule
from conveyor._util import check_name, new_id, now_ms
from conveyor.artifacts import ArtifactStore, BlobInfo
from conveyor.data.checks import CheckReport, CheckSuite, run_checks
from conveyor.data.entities import Dataset, DatasetVersion, RunInput
from conveyor.data.frames import content_hash, read_parquet, to_table, write_parquet
from conveyor.data.profile import profile_table
from conveyor.data.schema import infer_schema
from conveyor.errors import NotFound, ValidationFailed
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore, UnitOfWork
from conveyor.store.dialect import insert_for, insert_if_absent
from conveyor.store.projects import current_project_id, in_current_project, run_in_project
from conveyor.store.stores import Stores
from conveyor.store.tables import (
    DEFAULT_PROJECT_ID,
    dataset_versions,
    datasets,
    projects,
    run_inputs,
    runs,
)

__all__ = [
    "DEFAULT_PROJECT_ID",
    "get_dataset",
    "get_dataset_version",
    "get_dataset_version_by_id",
    "link_run_input",
    "list_datasets",
    "list_run_inputs",
    "list_versions",
    "load_dataset_version",
    "log_dataset_version",
    "record_dataset_version",
]


# -- rows -> records ----------------------------------------------------------------------
def _version_record(row: Any, dataset: Any) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        dataset_id=row.dataset_id,
        project_id=dataset.project_id,
        name=dataset.name,
        version=row.version,
        sha256=row.sha256,
        file_sha256=row.file_sha256,
        num_rows=row.num_rows,
        num_bytes=row.num_bytes,
        schema=list(row.schema),
        profile=dict(row.profile),
        checks=None if row.checks is None else dict(row.checks),
        source=row.source,
        description=dataset.description,
        created_by=row.created_by,
        created_at=row.created_at,
    )


InputContext = Annotated[str, Rule({"pattern": NAME_PATTERN, "maxLength": 64})]
"""How a run used a dataset version (``training``, ``evaluation`` ...)."""


def _dataset_record(row: Any) -> Dataset:
    return Dataset(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        latest_version=row.latest_version,
        created_at=row.created_at,
    )


def _dataset_row(conn: sa.Connection, name: str, project_id: str) -> Any:
    return conn.execute(
        sa.select(datasets).where(datasets.c.project_id == project_id, datasets.c.name == name)
    ).first()


def _require_dataset(conn: sa.Connection, name: str, project_id: str) -> Any:
    check_name(name, "dataset name")
    row = _dataset_row(conn, name, project_id)
    if row is None:
        raise NotFound(
            f"dataset {name!r} does not exist; log a version with "
            "conveyor.log_dataset(data, name) or list datasets with `conveyor datasets list`",
            details={"dataset": name},
        )
    return row


def _version_by_sha(conn: sa.Connection, dataset: Any, sha256: str) -> DatasetVersion | None:
    row = conn.execute(
        sa.select(dataset_versions).where(
            dataset_versions.c.dataset_id == dataset.id, dataset_versions.c.sha256 == sha256
        )
    ).first()
    return None if row is None else _version_record(row, dataset)


# -- writing ------------------------------------------------------------------------------
def _ensure_dataset(uow: UnitOfWork, name: str, project_id: str, description: str) -> Any:
    """The dataset row, created if missing; safe when concurrent writers race."""
    if (
        uow.conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id)).first()
        is None
    ):
        raise NotFound(f"project {project_id!r} does not exist", details={"project": project_id})
    row: dict[str, Any] = {
        "id": new_id(),
        "project_id": project_id,
        "name": name,
        "description": description,
        "latest_version": 0,
        "created_at": now_ms(),
    }
    inserted = uow.conn.execute(
        insert_for(uow.conn, datasets)
        .values(**row)
        .on_conflict_do_nothing(index_elements=[datasets.c.project_id, datasets.c.name])
        .returning(datasets.c.id)
    ).first()
    if inserted is not None:
        uow.audit("dataset.create", "dataset", row["id"], row, name=name)
    return _dataset_row(uow.conn, name, project_id)


def _suite(expectations: Any) -> CheckSuite | None:
    if expectations is None:
        return None
    if isinstance(expectations, CheckSuite):
        return expectations
    if isinstance(expectations, dict):
        return CheckSuite.from_dict(expectations)
    return CheckSuite(expectations)


def raise_failed_checks(report: CheckReport, dv: DatasetVersion) -> None:
    """Raise ValidationFailed listing failed checks, with the stored version in details."""
    if report.passed:
        return
    try:
        report.raise_for_failures(f"dataset {dv.name!r} version {dv.version}")
    except ValidationFailed as exc:
        exc.details["dataset_version"] = dv.to_dict(include_profile=False)
        raise


class _Prepared:
    """Data read, hashed and checked; schema, profile and Parquet file made on demand."""

    def __init__(self, name: str, data: Any, expectations: Any, description: str, source: str):
        check_name(name, "dataset name")
        if not isinstance(source, str) or not isinstance(description, str):
            raise ValidationFailed("source and description must be strings")
        self.name, self.description, self.source = name, description, source
        self.table = to_table(data)
        self.sha256 = content_hash(self.table)
        suite = _suite(expectations)
        self.report = None if suite is None else run_checks(self.table, suite)
        self.schema: list[dict[str, Any]] = []
        self.profile: dict[str, Any] = {}
        self.blob: BlobInfo | None = None

    def materialise(self, artifacts: ArtifactStore) -> BlobInfo:
        """Infer the schema, profile the data and store its Parquet file (once)."""
        if self.blob is None:
            self.schema = infer_schema(self.table)
            self.profile = profile_table(self.table).to_dict()
            with tempfile.TemporaryDirectory(prefix="conveyor-dataset-") as tmp:
                path = write_parquet(self.table, Path(tmp) / "data.parquet")
                self.blob = artifacts.put_file(path)
        return self.blob


def _stored(conn: sa.Connection, prep: _Prepared, project_id: str) -> DatasetVersion | None:
    found = _dataset_row(conn, prep.name, project_id)
    return None if found is None else _version_by_sha(conn, found, prep.sha256)


def _recheck(uow: UnitOfWork, existing: DatasetVersion, prep: _Prepared) -> DatasetVersion:
    """The same content logged again with expectations: record the new check report on
    the existing version (the data is immutable; its latest check result is not), so a
    data gate re-run on unchanged data still checks it."""
    if prep.report is None:
        return existing
    checks = prep.report.to_dict()
    uow.conn.execute(
        dataset_versions.update().where(dataset_versions.c.id == existing.id).values(checks=checks)
    )
    uow.audit(
        "dataset_version.check",
        "dataset_version",
        existing.id,
        {"checks": checks, "previous": existing.checks},
    )
    return dataclasses.replace(existing, checks=checks)


def _store(
    uow: UnitOfWork, artifacts: ArtifactStore, prep: _Prepared, project_id: str
) -> DatasetVersion:
    existing = _stored(uow.conn, prep, project_id)
    if existing is not None:
        return _recheck(uow, existing, prep)
    blob = prep.materialise(artifacts)
    dataset = _ensure_dataset(uow, prep.name, project_id, prep.description)
    # lock the dataset row (PostgreSQL; SQLite writers are serialised already) and look
    # again: a concurrent writer may have stored the same content meanwhile
    uow.conn.execute(sa.select(datasets.c.id).where(datasets.c.id == dataset.id).with_for_update())
    existing = _version_by_sha(uow.conn, dataset, prep.sha256)
    if existing is not None:
        return _recheck(uow, existing, prep)

    version = uow.conn.execute(
        datasets.update()
        .where(datasets.c.id == dataset.id)
        .values(latest_version=datasets.c.latest_version + 1)
        .returning(datasets.c.latest_version)
    ).scalar_one()
    report = prep.report
    row = {
        "id": new_id(),
        "dataset_id": dataset.id,
        "version": version,
        "sha256": prep.sha256,
        "file_sha256": blob.sha256,
        "num_rows": prep.table.num_rows,
        "num_bytes": blob.size,
        "schema": prep.schema,
        "profile": prep.profile,
        "checks": None if report is None else report.to_dict(),
        "source": prep.source,
        "created_by": str(uow.actor),
        "created_at": now_ms(),
    }
    uow.conn.execute(dataset_versions.insert().values(**row))
    change = {k: v for k, v in row.items() if k != "profile"}
    uow.audit(
        "dataset_version.create",
        "dataset_version",
        row["id"],
        change,
        name=prep.name,
        version=version,
        sha256=prep.sha256,
        checks_passed=None if report is None else report.passed,
    )
    return _version_record(SimpleNamespace(**row), dataset)


@in_current_project
def log_dataset_version(
    uow: UnitOfWork,
    artifacts: ArtifactStore,
    *,
    name: str,
    data: Any,
    project_id: str = DEFAULT_PROJECT_ID,
    description: str = "",
    source: str = "",
    expectations: Any = None,
    raise_on_failure: bool = False,
) -> DatasetVersion:
    """Store ``data`` as the next version of dataset ``name``, or return the version that
    already holds the same content.

    ``data``: DataFrame, Arrow Table/RecordBatch or .parquet/.csv path. ``expectations``:
    a ``CheckSuite``, a list of expectations, or their JSON. ``description`` is used when
    the dataset is created. For identical content the existing version is returned as
    stored; given ``expectations`` are still run against the data and, with
    ``raise_on_failure``, raise on failure (the stored report is not changed).
    With ``raise_on_failure`` the error is raised after the version is written in ``uow``
    (see the module docstring to keep it).
    """
    prep = _Prepared(name, data, expectations, description, source)
    dv = _store(uow, artifacts, prep, project_id)
    if raise_on_failure and prep.report is not None:
        raise_failed_checks(prep.report, dv)
    return dv


@in_current_project
def record_dataset_version(
    store: MetadataStore,
    artifacts: ArtifactStore,
    actor: Actor,
    *,
    name: str,
    data: Any,
    project_id: str = DEFAULT_PROJECT_ID,
    description: str = "",
    source: str = "",
    expectations: Any = None,
    raise_on_failure: bool = False,
    run_id: str | None = None,
    context: str = "training",
) -> DatasetVersion:
    """``log_dataset_version`` in its own write transaction, committed before it raises.

    Hashing, profiling and the Parquet upload happen *before* the write transaction
    opens, so other writers are not held up by large data. With ``run_id`` the version is
    also linked to that run as an input (``context``) in the same transaction. With
    ``raise_on_failure=True`` and failing checks, the version and its report are
    committed first, then ``ValidationFailed`` is raised.
    """
    prep = _Prepared(name, data, expectations, description, source)
    with store.read() as conn:
        known = _stored(conn, prep, project_id)
    if known is None:
        prep.materialise(artifacts)
    with store.write(actor) as uow:
        dv = _store(uow, artifacts, prep, project_id)
        if run_id is not None:
            link_run_input(uow, run_id, dv.id, context)
    if raise_on_failure and prep.report is not None:
        raise_failed_checks(prep.report, dv)
    return dv


def log_dataset(
    stores: Stores,
    name: str,
    data: Any,
    *,
    description: str = "",
    source: str = "",
    expectations: Any = None,
    run_id: str | None = None,
    context: str = "training",
) -> DatasetVersion:
    """Store ``data`` as a version of ``name`` (the same content returns the same version).

    Failed checks are recorded on the version, never raised here; the SDK raises after the
    version is committed when asked to.
    """
    return record_dataset_version(
        stores.meta,
        stores.artifacts,
        stores.actor,
        name=name,
        data=data,
        description=description,
        source=source,
        expectations=expectations,
        run_id=run_id,
        context=context,
    )


def load_dataset(stores: Stores, name: str, version: int | str | None = None) -> pd.DataFrame:
    """A dataset version's rows as a DataFrame, verified by sha256."""
    with stores.read() as conn:
        dv = get_dataset_version(conn, name, version)
    frame = load_dataset_version(stores.artifacts, dv, as_pandas=True)
    assert isinstance(frame, pd.DataFrame)
    return frame


def link_run_input(
    uow: UnitOfWork, run_id: str, dataset_version_id: str, context: InputContext = "training"
) -> RunInput:
    """Record that run ``run_id`` used a dataset version in ``context`` (training,
    validation ...); idempotent, and one version may serve in several contexts."""
    check_name(context, "input context")
    if len(context) > 64:
        raise ValidationFailed(f"input context {context!r} is longer than 64 characters")
    conn = uow.conn
    in_project = run_in_project(current_project_id())
    if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id, in_project)).first() is None:
        raise NotFound(f"run {run_id!r} does not exist", details={"run_id": run_id})
    get_dataset_version_by_id(conn, dataset_version_id)
    row: dict[str, Any] = {
        "run_id": run_id,
        "dataset_version_id": dataset_version_id,
        "context": context,
        "created_at": now_ms(),
    }
    unique = [run_inputs.c.run_id, run_inputs.c.dataset_version_id, run_inputs.c.context]
    if insert_if_absent(conn, run_inputs, row, unique):
        uow.audit("run_input.create", "run", run_id, row, dataset_version_id=dataset_version_id)
        return RunInput(**row)
    stored = conn.execute(
        sa.select(run_inputs).where(
            run_inputs.c.run_id == run_id,
            run_inputs.c.dataset_version_id == dataset_version_id,
            run_inputs.c.context == context,
        )
    ).one()
    return RunInput(stored.run_id, stored.dataset_version_id, stored.context, stored.created_at)


# -- reading ------------------------------------------------------------------------------
def _version_number(version: Any) -> int | None:
    if version is None or version == "latest":
        return None
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed(
            f"dataset version must be a positive integer or 'latest', got {version!r}"
        )
    return version


@in_current_project
def get_dataset(conn: sa.Connection, name: str, *, project_id: str = DEFAULT_PROJECT_ID) -> Dataset:
    """A dataset by name; NotFound naming it when it does not exist."""
    return _dataset_record(_require_dataset(conn, name, project_id))


@in_current_project
def get_dataset_version(
    conn: sa.Connection,
    name: Name,
    version: DatasetVersionRef = None,
    *,
    project_id: str = DEFAULT_PROJECT_ID,
) -> DatasetVersion:
    """Version ``version`` of dataset ``name`` (the latest when None or 'latest')."""
    dataset = _require_dataset(conn, name, project_id)
    number = _version_number(version)
    if number is None:
        number = dataset.latest_version
        if number == 0:
            raise NotFound(f"dataset {name!r} has no versions yet", details={"dataset": name})
    row = conn.execute(
        sa.select(dataset_versions).where(
            dataset_versions.c.dataset_id == dataset.id, dataset_versions.c.version == number
        )
    ).first()
    if row is None:
        raise NotFound(
            f"dataset {name!r} has no version {number}; its latest is {dataset.latest_version}",
            details={"dataset": name, "version": number},
        )
    return _version_record(row, dataset)


def get_dataset_version_by_id(conn: sa.Connection, dataset_version_id: str) -> DatasetVersion:
    """A dataset version by its id; NotFound naming the id."""
    row = conn.execute(
        sa.select(dataset_versions).where(
            dataset_versions.c.id == dataset_version_id,
            dataset_versions.c.dataset_id.in_(  # ids resolve in the current project only
                sa.select(datasets.c.id).where(datasets.c.project_id == current_project_id())
            ),
        )
    ).first()
    if row is None:
        raise NotFound(
            f"dataset version {dataset_version_id!r} does not exist",
            details={"dataset_version_id": dataset_version_id},
        )
    dataset = conn.execute(sa.select(datasets).where(datasets.c.id == row.dataset_id)).one()
    return _version_record(row, dataset)


@in_current_project
def list_datasets(conn: sa.Connection, *, project_id: str = DEFAULT_PROJECT_ID) -> list[Dataset]:
    """All datasets of a project, by name."""
    rows = conn.execute(
        sa.select(datasets).where(datasets.c.project_id == project_id).order_by(datasets.c.name)
    )
    return [_dataset_record(r) for r in rows]


@in_current_project
def list_versions(
    conn: sa.Connection, name: Name, *, project_id: str = DEFAULT_PROJECT_ID
) -> list[DatasetVersion]:
    """All versions of dataset ``name``, oldest first."""
    dataset = _require_dataset(conn, name, project_id)
    rows = conn.execute(
        sa.select(dataset_versions)
        .where(dataset_versions.c.dataset_id == dataset.id)
        .order_by(dataset_versions.c.version)
    )
    return [_version_record(r, dataset) for r in rows]


def list_run_inputs(conn: sa.Connection, run_id: str) -> list[RunInput]:
    """The dataset versions a run used, oldest link first."""
    rows = conn.execute(
        sa.select(run_inputs)
        .where(run_inputs.c.run_id == run_id)
        .order_by(run_inputs.c.created_at, run_inputs.c.dataset_version_id)
    )
    return [RunInput(r.run_id, r.dataset_version_id, r.context, r.created_at) for r in rows]


def load_dataset_version(
    artifacts: ArtifactStore, dv: DatasetVersion, *, as_pandas: bool = False
) -> pa.Table | pd.DataFrame:
    """The data of a version; the artifact store verifies the file's sha256 on read
    (``IntegrityError`` when corrupted, ``NotFound`` when missing)."""
    table = read_parquet(artifacts.read_bytes(dv.file_sha256))
    return table.to_pandas() if as_pandas else table
