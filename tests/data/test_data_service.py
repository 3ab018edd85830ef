"""Dataset services on SQLite and PostgreSQL: dedupe, versions, concurrency, audit, lineage."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from conveyor._util import new_id, now_ms
from conveyor.artifacts import ArtifactStore
from conveyor.data import (
    DEFAULT_PROJECT_ID,
    CheckSuite,
    DatasetVersion,
    content_hash,
    get_dataset,
    get_dataset_version,
    get_dataset_version_by_id,
    in_range,
    link_run_input,
    list_datasets,
    list_run_inputs,
    list_versions,
    load_dataset_version,
    log_dataset_version,
    not_null,
    record_dataset_version,
)
from conveyor.errors import IntegrityError, NotFound, ValidationFailed
from conveyor.governance.audit import list_events, verify_chain
from conveyor.governance.identity import Actor
from conveyor.store import MetadataStore
from conveyor.store.tables import dataset_versions, experiments, runs

ALICE = Actor("alice")


def _frame(seed: int = 0, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(size=n), "k": rng.choice(["a", "b"], n), "y": rng.integers(0, 2, n)}
    )


def _log(
    meta: MetadataStore, artifacts: ArtifactStore, data: object, name: str = "churn", **kw: Any
) -> DatasetVersion:
    with meta.write(ALICE) as uow:
        return log_dataset_version(uow, artifacts, name=name, data=data, **kw)


def test_log_and_read_back(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    df = _frame()
    dv = _log(meta, artifacts, df, description="churn features", source="s3://raw/churn")
    assert (dv.name, dv.version, dv.num_rows) == ("churn", 1, 500)
    assert dv.sha256 == content_hash(df)
    assert dv.project_id == DEFAULT_PROJECT_ID
    assert dv.created_by == "alice" and dv.source == "s3://raw/churn"
    assert [c["name"] for c in dv.schema] == ["x", "k", "y"]
    assert dv.profile["num_rows"] == 500 and dv.checks is None and dv.checks_passed is None
    assert artifacts.exists(dv.file_sha256) and artifacts.size(dv.file_sha256) == dv.num_bytes
    body = dv.to_dict()
    assert body["uri"] == "datasets:/churn/1" and body["created_at_iso"]
    with meta.read() as conn:
        latest = get_dataset_version(conn, "churn")
        assert latest == dv
        assert get_dataset_version(conn, "churn", 1) == dv
        assert get_dataset_version(conn, "churn", "1") == dv
        assert get_dataset_version_by_id(conn, dv.id) == dv
        ds = get_dataset(conn, "churn")
        assert (ds.description, ds.latest_version) == ("churn features", 1)
    loaded = load_dataset_version(artifacts, dv)
    assert isinstance(loaded, pa.Table) and content_hash(loaded) == dv.sha256
    pd.testing.assert_frame_equal(load_dataset_version(artifacts, dv, as_pandas=True), df)
    assert dv.profile_object().num_rows == 500


def test_same_data_returns_existing_version(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    first = _log(meta, artifacts, _frame(1))
    again = _log(meta, artifacts, pa.Table.from_pandas(_frame(1), preserve_index=False))
    assert again == first
    second = _log(meta, artifacts, _frame(2))
    assert second.version == 2
    third = _log(meta, artifacts, _frame(1))  # old content again: still version 1
    assert third.version == 1
    with meta.read() as conn:
        assert [v.version for v in list_versions(conn, "churn")] == [1, 2]
        assert conn.execute(sa.select(sa.func.count()).select_from(dataset_versions)).scalar() == 2
        assert [d.name for d in list_datasets(conn)] == ["churn"]
        assert list_datasets(conn)[0].latest_version == 2


def test_audit_events_are_written(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    dv = _log(meta, artifacts, _frame())
    _log(meta, artifacts, _frame())  # dedupe: no new event
    with meta.read() as conn:
        events = list_events(conn)
        assert verify_chain(conn).ok
    assert [e.action for e in events] == ["dataset.create", "dataset_version.create"]
    created = events[1]
    assert (created.object_type, created.object_id, created.actor) == (
        "dataset_version",
        dv.id,
        "alice",
    )
    assert created.details["version"] == 1 and created.details["sha256"] == dv.sha256


def test_concurrent_logging_gives_gap_free_versions(
    meta: MetadataStore, artifacts: ArtifactStore
) -> None:
    frames = [_frame(seed, n=200) for seed in range(8)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(chunk: list[pd.DataFrame]) -> None:
        try:
            barrier.wait()
            for df in chunk:
                _log(meta, artifacts, df, name="shared")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(frames[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with meta.read() as conn:
        versions = list_versions(conn, "shared")
        assert get_dataset(conn, "shared").latest_version == 8
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert {v.sha256 for v in versions} == {content_hash(f) for f in frames}


def test_concurrent_logging_of_identical_data_dedupes(
    meta: MetadataStore, artifacts: ArtifactStore
) -> None:
    df = _frame(3, n=200)
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(_log(meta, artifacts, df, name="same").version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [1, 1, 1, 1]


def test_not_found_messages_name_the_object(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    _log(meta, artifacts, _frame())
    with meta.read() as conn:
        with pytest.raises(NotFound, match="dataset 'nope' does not exist"):
            get_dataset_version(conn, "nope")
        with pytest.raises(NotFound, match="dataset 'churn' has no version 7; its latest is 1"):
            get_dataset_version(conn, "churn", 7)
        with pytest.raises(NotFound, match="dataset version 'abc' does not exist"):
            get_dataset_version_by_id(conn, "abc")
        with pytest.raises(NotFound, match="dataset 'nope'"):
            list_versions(conn, "nope")
        with pytest.raises(ValidationFailed, match="positive integer"):
            get_dataset_version(conn, "churn", 0)
    with pytest.raises(ValidationFailed, match="invalid dataset name"):
        _log(meta, artifacts, _frame(), name=" bad")
    with pytest.raises(NotFound, match="project"):
        _log(meta, artifacts, _frame(), project_id="f" * 32)


def test_failed_checks_are_stored(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    suite = CheckSuite([not_null("x"), in_range("y", 5, 10)])
    dv = _log(meta, artifacts, _frame(), expectations=suite)
    assert dv.checks_passed is False
    assert dv.checks is not None and dv.checks["num_failed"] == 1
    report = dv.check_report()
    assert report is not None and report.failures[0].kind == "in_range"
    with meta.read() as conn:
        assert get_dataset_version(conn, "churn").checks == dv.checks
        event = list_events(conn, action="dataset_version.create")[0]
        assert event.details["checks_passed"] is False


def test_failed_checks_raise_after_the_version_is_stored(
    meta: MetadataStore, artifacts: ArtifactStore
) -> None:
    suite = [in_range("y", 5, 10)]
    with pytest.raises(ValidationFailed) as caught:
        record_dataset_version(
            meta,
            artifacts,
            ALICE,
            name="checked",
            data=_frame(),
            expectations=suite,
            raise_on_failure=True,
        )
    assert "in_range(y)" in caught.value.message
    assert caught.value.details["dataset_version"]["version"] == 1
    with meta.read() as conn:
        stored = get_dataset_version(conn, "checked")
    assert stored.checks_passed is False
    # the same data again: still version 1, and the checks still raise
    with pytest.raises(ValidationFailed, match="version 1"):
        record_dataset_version(
            meta,
            artifacts,
            ALICE,
            name="checked",
            data=_frame(),
            expectations=suite,
            raise_on_failure=True,
        )
    # in the caller's own unit of work: catch inside the block to keep the version
    with meta.write(ALICE) as uow:
        try:
            log_dataset_version(
                uow,
                artifacts,
                name="checked",
                data=_frame(9),
                expectations=suite,
                raise_on_failure=True,
            )
        except ValidationFailed as exc:
            assert exc.details["dataset_version"]["version"] == 2
    with meta.read() as conn:
        assert get_dataset(conn, "checked").latest_version == 2
    passing = record_dataset_version(
        meta,
        artifacts,
        ALICE,
        name="checked",
        data=_frame(10),
        expectations=[not_null("x")],
        raise_on_failure=True,
    )
    assert passing.version == 3 and passing.checks_passed is True


def _make_run(meta: MetadataStore) -> str:
    now = now_ms()
    exp_id, run_id = new_id(), new_id()
    with meta.write(ALICE) as uow:
        uow.conn.execute(
            experiments.insert().values(
                id=exp_id,
                project_id=DEFAULT_PROJECT_ID,
                name=f"e-{exp_id[:6]}",
                description="",
                tags={},
                lifecycle="active",
                created_at=now,
                updated_at=now,
            )
        )
        uow.conn.execute(
            runs.insert().values(
                id=run_id,
                experiment_id=exp_id,
                name="r",
                status="RUNNING",
                user="alice",
                start_time=now,
                source={},
                lifecycle="active",
            )
        )
    return run_id


def test_link_run_input_is_idempotent_and_audited(
    meta: MetadataStore, artifacts: ArtifactStore
) -> None:
    dv = _log(meta, artifacts, _frame())
    run_id = _make_run(meta)
    with meta.write(ALICE) as uow:
        first = link_run_input(uow, run_id, dv.id)
    with meta.write(ALICE) as uow:
        again = link_run_input(uow, run_id, dv.id, "training")
    assert again == first and first.context == "training"
    with meta.read() as conn:
        assert list_run_inputs(conn, run_id) == [first]
        events = list_events(conn, action="run_input.create")
    assert len(events) == 1 and events[0].object_id == run_id
    with meta.write(ALICE) as uow:  # the same version may also serve as validation data
        validation = link_run_input(uow, run_id, dv.id, "validation")
    with meta.read() as conn:
        contexts = sorted(i.context for i in list_run_inputs(conn, run_id))
    assert validation.context == "validation" and contexts == ["training", "validation"]
    with meta.write(ALICE) as uow, pytest.raises(NotFound, match="run 'nope'"):
        link_run_input(uow, "nope", dv.id)
    with meta.write(ALICE) as uow, pytest.raises(NotFound, match="dataset version 'nope'"):
        link_run_input(uow, run_id, "nope")


def test_load_detects_corrupted_file(meta: MetadataStore, artifacts: ArtifactStore) -> None:
    dv = _log(meta, artifacts, _frame())
    path = artifacts.backend.root / artifacts.key(dv.file_sha256)  # type: ignore[attr-defined]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError):
        load_dataset_version(artifacts, dv)


def test_log_from_parquet_and_csv_paths(
    meta: MetadataStore, artifacts: ArtifactStore, tmp_path: object
) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    df = _frame()
    df.to_parquet(base / "d.parquet", index=False)
    df.to_csv(base / "d.csv", index=False)
    from_parquet = _log(meta, artifacts, base / "d.parquet", name="files")
    from_csv = _log(meta, artifacts, base / "d.csv", name="files")
    assert from_parquet.sha256 == content_hash(df)
    assert from_csv.version in (1, 2)
