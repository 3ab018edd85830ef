"""Datasets: versioned by content hash, with schemas, mergeable profiles and data checks.

Reading and hashing (``frames``), schemas (``schema``), profiles (``profile``), checks
(``checks``) and the dataset services (``service``). See ``docs/datasets.md``.
"""

from conveyor.data.checks import (
    CheckReport,
    CheckResult,
    CheckSuite,
    Expectation,
    allowed_values,
    in_range,
    not_null,
    row_count,
    run_checks,
    schema_match,
    unique,
)
from conveyor.data.entities import Dataset, DatasetVersion, RunInput
from conveyor.data.frames import content_hash, read_parquet, to_table, write_parquet
from conveyor.data.profile import ColumnSketch, Profile, profile_parquet, profile_table
from conveyor.data.schema import SchemaDiff, compare_schemas, infer_schema
from conveyor.data.service import (
    DEFAULT_PROJECT_ID,
    get_dataset,
    get_dataset_version,
    get_dataset_version_by_id,
    link_run_input,
    list_datasets,
    list_run_inputs,
    list_versions,
    load_dataset_version,
    log_dataset_version,
    record_dataset_version,
)

__all__ = [
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
]
