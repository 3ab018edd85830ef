"""The public surface of conveyor.data is pinned: changes to it are deliberate."""

from __future__ import annotations

import conveyor.data

EXPECTED = {
    "DEFAULT_PROJECT_ID",
    "CheckReport",
    "CheckResult",
    "CheckSuite",
    "ColumnSketch",
    "Dataset",
    "DatasetVersion",
    "Expectation",
    "Profile",
    "RunInput",
    "SchemaDiff",
    "allowed_values",
    "compare_schemas",
    "content_hash",
    "get_dataset",
    "get_dataset_version",
    "get_dataset_version_by_id",
    "in_range",
    "infer_schema",
    "link_run_input",
    "list_datasets",
    "list_run_inputs",
    "list_versions",
    "load_dataset_version",
    "log_dataset_version",
    "not_null",
    "profile_parquet",
    "profile_table",
    "read_parquet",
    "record_dataset_version",
    "row_count",
    "run_checks",
    "schema_match",
    "to_table",
    "unique",
    "write_parquet",
}


def test_public_surface() -> None:
    assert set(conveyor.data.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(conveyor.data, name) is not None
